-- GCRA check-and-take for a batch of requests, decided one after the other in order, each
-- all-or-nothing, exactly as if each had run alone at the same instant. Redis Cluster sends
-- one request's buckets of one hash slot as a one-request batch.
-- KEYS: the distinct bucket keys of the batch.
-- ARGV[1]: number of requests. ARGV[2]: lease length L in microseconds.
-- ARGV[1 + 2k], ARGV[2 + 2k]: emission interval T and tolerance burst x T of KEYS[k], in
-- microseconds.
-- Then per request: cost, n, and n pairs (index into KEYS, extra tokens wanted as a lease).
-- Returns, per request: allowed, then ahead_1..ahead_n = max(tat - now, 0) before it, then
-- granted_1..granted_n, the lease tokens granted on each bucket (0 unless allowed).
-- A lease is granted only while the bucket stays at least half full after it, and it also keeps
-- the bucket's TAT at least min(L, tolerance / 64) ahead, so the bucket cannot refill to full
-- while the lease lives (see lease.rs for why that keeps the limit exact).
-- All keys are read with one MGET and each changed key is written once. Time is the server's.
-- The per-request loop is the hot part (a batch holds up to 128 requests): it converts only
-- the cost, n, the indexes and the extras, and allocates nothing.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local lease = tonumber(ARGV[2])
local nkeys = #KEYS
local stored = nkeys > 0 and redis.call('MGET', unpack(KEYS)) or {}
local interval, tolerance, tat, dirty = {}, {}, {}, {}
for k = 1, nkeys do
  interval[k] = tonumber(ARGV[1 + 2 * k])
  tolerance[k] = tonumber(ARGV[2 + 2 * k])
  -- A missing key (MGET answers false) is a full bucket.
  tat[k] = tonumber(stored[k]) or now
end
local result = {}
local out = 0
local index, wanted, before = {}, {}, {}
local p = 3 + 2 * nkeys
for _ = 1, tonumber(ARGV[1]) do
  local cost = tonumber(ARGV[p])
  local n = tonumber(ARGV[p + 1])
  local allowed = 1
  for i = 1, n do
    local k = tonumber(ARGV[p + 2 * i])
    local ahead = tat[k] - now
    if ahead < 0 then ahead = 0 end
    result[out + 1 + i] = ahead
    result[out + 1 + n + i] = 0
    local w = ahead + cost * interval[k]
    -- A full bucket (ahead 0) admits any one request, even one costing more than the burst
    -- (gcra.rs states the rule).
    if w > tolerance[k] and ahead > 0 then allowed = 0 end
    index[i] = k
    wanted[i] = w
    before[i] = ahead
  end
  result[out + 1] = allowed
  if allowed == 1 then
    for i = 1, n do
      local k = index[i]
      local w = wanted[i]
      local extra = tonumber(ARGV[p + 1 + 2 * i])
      if extra > 0 then
        -- The lease lives min(L, tolerance / 64): what keeping the TAT that far ahead forgoes
        -- of the bucket's refill is at most burst / 64.
        local hold = tolerance[k] / 64
        if hold > lease then hold = lease end
        local floor = before[i]
        if floor < hold then floor = hold end
        local room = math.floor((tolerance[k] / 2 - floor) / interval[k]) - cost
        if room > extra then room = extra end
        if room > 0 then
          w = floor + (cost + room) * interval[k]
          result[out + 1 + n + i] = room
        end
      end
      if w > 0 then
        tat[k] = now + w
        dirty[k] = true
      end
    end
  end
  out = out + 1 + 2 * n
  p = p + 2 + 2 * n
end
for k in pairs(dirty) do
  -- Expire when the bucket is full again: a missing key means a full bucket.
  redis.call('SET', KEYS[k], string.format('%.0f', tat[k]),
    'PX', math.ceil((tat[k] - now) / 1000))
end
return result
