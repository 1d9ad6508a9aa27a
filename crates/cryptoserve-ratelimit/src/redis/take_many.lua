-- GCRA check-and-take for a batch of requests, decided one after the other in order, each
-- all-or-nothing, exactly as if each had run alone at the same instant. Redis Cluster sends
-- one request's buckets of one hash slot as a one-request batch.
-- KEYS: the distinct bucket keys of the batch.
-- ARGV[1]: number of requests; then per request: cost, n, and n triples
--   (index into KEYS, emission interval T, tolerance burst x T), times in microseconds.
-- Returns, per request: allowed, then ahead_1..ahead_n = max(tat - now, 0) before it.
-- Every key is read at most once and written at most once. Time is the server's own.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = {}
local dirty = {}
local result = {}
local p = 2
for _ = 1, tonumber(ARGV[1]) do
  local cost = tonumber(ARGV[p])
  local n = tonumber(ARGV[p + 1])
  p = p + 2
  local out = #result + 1
  result[out] = 1
  local wanted = {}
  for i = 1, n do
    local k = tonumber(ARGV[p + 3 * (i - 1)])
    local interval = tonumber(ARGV[p + 3 * (i - 1) + 1])
    local tolerance = tonumber(ARGV[p + 3 * (i - 1) + 2])
    if tat[k] == nil then
      tat[k] = tonumber(redis.call('GET', KEYS[k])) or now
    end
    local ahead = math.max(tat[k] - now, 0)
    result[out + i] = ahead
    wanted[i] = ahead + cost * interval
    if wanted[i] > tolerance then
      result[out] = 0
    end
  end
  if result[out] == 1 then
    for i = 1, n do
      if wanted[i] > 0 then
        local k = tonumber(ARGV[p + 3 * (i - 1)])
        tat[k] = now + wanted[i]
        dirty[k] = true
      end
    end
  end
  p = p + 3 * n
end
for k in pairs(dirty) do
  -- Expire when the bucket is full again: a missing key means a full bucket.
  redis.call('SET', KEYS[k], string.format('%.0f', tat[k]),
    'PX', math.ceil((tat[k] - now) / 1000))
end
return result
