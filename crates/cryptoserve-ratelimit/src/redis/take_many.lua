-- GCRA check-and-take for a batch of requests, decided one after the other in order, each
-- all-or-nothing, exactly as if each had run alone at the same instant. Redis Cluster sends
-- one request's buckets of one hash slot as a one-request batch.
-- KEYS: the distinct bucket keys of the batch.
-- ARGV[1]: number of requests.
-- ARGV[2k], ARGV[2k+1]: emission interval T and tolerance burst x T of KEYS[k], in microseconds.
-- Then per request: cost, n, and the n indexes into KEYS of its buckets.
-- Returns, per request: allowed, then ahead_1..ahead_n = max(tat - now, 0) before it.
-- All keys are read with one MGET and each changed key is written once. Time is the server's.
-- The per-request loop is the hot part (a batch holds up to 128 requests): it converts only
-- the cost, n and the indexes, and allocates nothing.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local nkeys = #KEYS
local stored = nkeys > 0 and redis.call('MGET', unpack(KEYS)) or {}
local interval, tolerance, tat, dirty = {}, {}, {}, {}
for k = 1, nkeys do
  interval[k] = tonumber(ARGV[2 * k])
  tolerance[k] = tonumber(ARGV[2 * k + 1])
  -- A missing key (MGET answers false) is a full bucket.
  tat[k] = tonumber(stored[k]) or now
end
local result = {}
local out = 0
local index, wanted = {}, {}
local p = 2 + 2 * nkeys
for _ = 1, tonumber(ARGV[1]) do
  local cost = tonumber(ARGV[p])
  local n = tonumber(ARGV[p + 1])
  local allowed = 1
  for i = 1, n do
    local k = tonumber(ARGV[p + 1 + i])
    local ahead = tat[k] - now
    if ahead < 0 then ahead = 0 end
    result[out + 1 + i] = ahead
    local w = ahead + cost * interval[k]
    if w > tolerance[k] then allowed = 0 end
    index[i] = k
    wanted[i] = w
  end
  result[out + 1] = allowed
  if allowed == 1 then
    for i = 1, n do
      if wanted[i] > 0 then
        local k = index[i]
        tat[k] = now + wanted[i]
        dirty[k] = true
      end
    end
  end
  out = out + 1 + n
  p = p + 2 + n
end
for k in pairs(dirty) do
  -- Expire when the bucket is full again: a missing key means a full bucket.
  redis.call('SET', KEYS[k], string.format('%.0f', tat[k]),
    'PX', math.ceil((tat[k] - now) / 1000))
end
return result
