/**
 * Writes one run's entry in its flow's index, all in the flow's slot (`lf:flow:{<flow>}:…`):
 * the flow's runs (score = start ms), the sorted set of the run's status (the other statuses'
 * sets lose it), the finished runs (score = expiry ms) and the version of each entry: the id
 * of the event that set the status (the append script's `sid`). An entry older than or as old
 * as the stored one changes nothing, so index writes that arrive late, twice, or from a
 * repair after a newer one never undo it.
 *
 * KEYS: 1 the flow's runs, 2 its finished runs, 3 its versions hash, 4 the sorted set of the
 * run's status, 5.. the sets of the other statuses.
 * ARGV: 1 run id, 2 version (an event id), 3 start ms, 4 expiry ms ('' while the run lives).
 * Returns 1 when written, 0 when the stored entry is as new.
 *
 * The first write is a ZREM, which Redis never refuses at `maxmemory`: the entry follows a run
 * write Redis already accepted, so it is written whole even when memory is tight (a few dozen
 * bytes a run).
 */
export const RUN_INDEX_LUA = `
local cur = redis.call('HGET', KEYS[3], ARGV[1])
if cur then
  local cm, cs = string.match(cur, '^(%d+)-(%d+)$')
  local nm, ns = string.match(ARGV[2], '^(%d+)-(%d+)$')
  if cm and nm then
    cm, cs, nm, ns = tonumber(cm), tonumber(cs), tonumber(nm), tonumber(ns)
    if nm < cm or (nm == cm and ns <= cs) then return 0 end
  end
end
for i = 5, #KEYS do redis.call('ZREM', KEYS[i], ARGV[1]) end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
redis.call('ZADD', KEYS[4], ARGV[3], ARGV[1])
redis.call('HSET', KEYS[3], ARGV[1], ARGV[2])
if ARGV[4] == '' then
  redis.call('ZREM', KEYS[2], ARGV[1])
else
  redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
end
return 1
`

/**
 * Drops runs (whose keys expired) from their flow's index, in the flow's slot.
 * KEYS: 1 the flow's runs, 2 its finished runs, 3 its versions hash, 4.. the status sets.
 * ARGV: the run ids.
 */
export const RUN_INDEX_DROP_LUA = `
for i = 1, #KEYS do
  if i == 3 then redis.call('HDEL', KEYS[i], unpack(ARGV)) else redis.call('ZREM', KEYS[i], unpack(ARGV)) end
end
return #ARGV
`

/**
 * Adds a flow to the flows set (KEYS 1; ARGV 1 the flow name). Like RUN_INDEX_LUA its first
 * write is one Redis never refuses at `maxmemory` (an SREM of '', never a flow name), so a
 * flow whose run was stored is listed.
 */
export const FLOWS_ADD_LUA = `
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then return 0 end
redis.call('SREM', KEYS[1], '')
return redis.call('SADD', KEYS[1], ARGV[1])
`
