-- Gives back a take of cost n, used in Redis Cluster when another slot's group denied.
-- KEYS[i]: bucket keys. ARGV[1]: cost. ARGV[i+1]: emission interval T of KEYS[i] (µs).
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local cost = tonumber(ARGV[1])
for i = 1, #KEYS do
  local tat = tonumber(redis.call('GET', KEYS[i]))
  if tat then
    local refunded = tat - cost * tonumber(ARGV[i + 1])
    if refunded <= now then
      redis.call('DEL', KEYS[i])
    else
      redis.call('SET', KEYS[i], string.format('%.0f', refunded),
        'PX', math.ceil((refunded - now) / 1000))
    end
  end
end
return 1
