/**
 * Compare-and-set of one schedule: its document and its place in the due index together, in
 * the schedules' slot. A stored schedule is one hash field `<version>|<nextRunAt>|<doc JSON>`
 * (`nextRunAt` empty: paused, not in the index). A delete raises the version floor to the
 * deleted version; a new schedule starts above the floor, so no id's versions ever repeat (a
 * writer holding a version of a deleted schedule never writes over one set again).
 * KEYS: 1 the documents hash, 2 the due index (a sorted set), 3 the version floor (a string);
 * one slot.
 * ARGV: 1 schedule id, 2 expected version (0: only when absent), 3 '1' to write, '0' to
 * delete, 4 nextRunAt ms ('' : none), 5 the document JSON.
 * Returns `{1, newVersion}` (0 after a delete), or `{0, current}` on a conflict (`{0}` when absent).
 */
export const SCHEDULE_CAS_LUA = `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
local v = 0
if cur then
  -- a field written by hand without a version matches no expected version: the caller decodes it and says so
  local bar = string.find(cur, '|', 1, true)
  v = (bar and tonumber(string.sub(cur, 1, bar - 1))) or -1
end
if v ~= tonumber(ARGV[2]) then
  if cur then return {0, cur} end
  return {0}
end
local floor = tonumber(redis.call('GET', KEYS[3]) or '0')
if ARGV[3] == '0' then
  if not cur then return {1, 0} end
  redis.call('HDEL', KEYS[1], ARGV[1])
  redis.call('ZREM', KEYS[2], ARGV[1])
  if v > floor then redis.call('SET', KEYS[3], v) end
  return {1, 0}
end
if not cur then v = floor end
redis.call('HSET', KEYS[1], ARGV[1], tostring(v + 1) .. '|' .. ARGV[4] .. '|' .. ARGV[5])
if ARGV[4] == '' then
  redis.call('ZREM', KEYS[2], ARGV[1])
else
  redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
end
return {1, v + 1}
`

/**
 * The due schedules and the next due time, in one call: O(log n + due), never a scan.
 * KEYS: 1 the due index.
 * ARGV: 1 now (ms), 2 the most ids to return, 3 how many due ids to skip first.
 * Returns `{ids, next}`: ids with a score <= now, earliest first (ties by id), and the first
 * score above now (`false`, a nil reply: none).
 */
export const SCHEDULE_DUE_LUA = `
local due = redis.call('ZRANGE', KEYS[1], '-inf', ARGV[1], 'BYSCORE', 'LIMIT', ARGV[3], ARGV[2])
local after = redis.call('ZRANGE', KEYS[1], '(' .. ARGV[1], '+inf', 'BYSCORE', 'LIMIT', 0, 1, 'WITHSCORES')
return {due, after[2] or false}
`
