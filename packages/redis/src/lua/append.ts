/**
 * The append script: one round trip, one slot (all KEYS share the run's hash tag).
 *
 * KEYS: 1 events stream, 2 summary hash, 3 idempotency hash, 4.. further run
 * keys that expire with the run.
 * ARGV: 1 event JSON, 2 live channel, 3 idempotency key ('' for none),
 * 4 maxEventsPerRun (0: no limit), 5 retention ms, 6 summary status ('' for
 * none, 'running' on flow.started, else the terminal status), 7 flow name,
 * 8 fence name ('' for none), 9 fence token; with a fence, the last KEY is
 * the run's fences hash, and the event is stored only while it maps the
 * name to the token; 10 an idempotency key that must already be stored
 * ('' for none).
 *
 * Returns `{1, id, startedAtMs?, flow?}` for a new event (`startedAtMs` on
 * flow.started, `flow` — the run's flow name, if known — on a terminal event), `{0, id, fields?}` for a
 * repeated idempotency key (the stored entry's fields), `{-1, len}` when the
 * run is too long, `{-2}` when the fence does not hold the token, `{-3}` when
 * the key of ARGV 10 is not stored (nothing written). The record's `ts` is the millisecond part of the id, so
 * the clock is Redis's (XADD `*`), with no TIME call.
 */
export const APPEND_LUA = `
local events = KEYS[1]
local ikey = ARGV[3]
if ikey ~= '' then
  local prev = redis.call('HGET', KEYS[3], ikey)
  if prev then
    local entry = redis.call('XRANGE', events, prev, prev)
    if entry[1] then return {0, prev, entry[1][2]} end
    return {0, prev}
  end
end
if ARGV[8] ~= '' and redis.call('HGET', KEYS[#KEYS], ARGV[8]) ~= ARGV[9] then return {-2} end
if ARGV[10] ~= '' and redis.call('HEXISTS', KEYS[3], ARGV[10]) == 0 then return {-3} end
local max = tonumber(ARGV[4])
if max > 0 then
  local len = redis.call('XLEN', events)
  if len >= max then return {-1, len} end
end
local id = redis.call('XADD', events, '*', 'e', ARGV[1])
redis.call('PUBLISH', ARGV[2], id .. ' ' .. ARGV[1])
if ikey ~= '' then
  redis.call('HSET', KEYS[3], ikey, id)
  local ttl = redis.call('PTTL', events)
  if ttl > 0 then redis.call('PEXPIRE', KEYS[3], ttl) end
end
local status = ARGV[6]
if status == '' then return {1, id} end
local ms = string.match(id, '^(%d+)')
if status == 'running' then
  redis.call('HSET', KEYS[2], 'flow', ARGV[7], 'status', 'running')
  redis.call('HSETNX', KEYS[2], 'startedAt', ms)
  local ttl = redis.call('PTTL', events)
  if ttl > 0 then redis.call('PEXPIRE', KEYS[2], ttl) end
  return {1, id, redis.call('HGET', KEYS[2], 'startedAt')}
end
redis.call('HSET', KEYS[2], 'status', status, 'completedAt', ms)
local retention = tonumber(ARGV[5])
for i = 1, #KEYS do redis.call('PEXPIRE', KEYS[i], retention) end
return {1, id, false, redis.call('HGET', KEYS[2], 'flow')}
`
