-- GCRA check-and-take for every bucket of one request (all keys in one hash slot).
-- KEYS[i]: bucket keys. ARGV[1]: cost. ARGV[2i], ARGV[2i+1]: emission interval T and
-- tolerance (burst x T) of KEYS[i], in microseconds.
-- Returns {allowed, ahead_1, ..., ahead_n}: ahead_i = max(tat_i - now, 0) before the request.
-- Nothing is written unless every bucket fits (all-or-nothing). Time is the server's own.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local cost = tonumber(ARGV[1])
local result = {1}
local wanted = {}
for i = 1, #KEYS do
  local interval = tonumber(ARGV[2 * i])
  local tolerance = tonumber(ARGV[2 * i + 1])
  local tat = tonumber(redis.call('GET', KEYS[i])) or now
  local ahead = math.max(tat - now, 0)
  result[i + 1] = ahead
  wanted[i] = ahead + cost * interval
  if wanted[i] > tolerance then
    result[1] = 0
  end
end
if result[1] == 1 then
  for i = 1, #KEYS do
    if wanted[i] > 0 then
      -- Expire when the bucket is full again: a missing key means a full bucket.
      redis.call('SET', KEYS[i], string.format('%.0f', now + wanted[i]),
        'PX', math.ceil(wanted[i] / 1000))
    end
  end
end
return result
