-- A value that only moves forward: stored only when its sequence is above the stored one.
-- KEYS[1]: a hash {sequence, value}. ARGV[1]: the new sequence. ARGV[2]: the new value.
-- Returns 1 when stored, 0 when the stored sequence is already at or above ARGV[1].
local current = redis.call('HGET', KEYS[1], 'sequence')
if current and tonumber(current) >= tonumber(ARGV[1]) then
  return 0
end
redis.call('HSET', KEYS[1], 'sequence', ARGV[1], 'value', ARGV[2])
return 1
