/**
 * The append logic shared by the append script and the create-run script (one Lua source, so
 * both store, publish, index and expire an event the same way).
 *
 * KEYS: 1 events stream, 2 summary hash, 3 idempotency hash.
 * ARGV: 1 event JSON, 2 live channel, 3 idempotency key ('' for none),
 * 4 maxEventsPerRun (0: no limit), 5 retention ms, 6 summary status ('' for
 * none, 'running' on flow.started, else the terminal status), 7 flow name,
 * 8 fence name ('' for none), 9 fence token, 10 an idempotency key that must
 * already be stored ('' for none).
 *
 * `repeated()` answers a stored idempotency key, `refused()` the checks, and `write()` the
 * writes: every check runs before the first write, and the first write is the XADD — Redis
 * refuses a script's first write at `maxmemory` but never a later one, so an event is either
 * stored with everything that goes with it, or nothing is written.
 */
const APPEND_CORE = `
local function repeated(ikey)
  if ikey == '' then return nil end
  local prev = redis.call('HGET', KEYS[3], ikey)
  if not prev then return nil end
  local entry = redis.call('XRANGE', KEYS[1], prev, prev)
  if entry[1] then return {0, prev, entry[1][2]} end
  return {0, prev}
end

local function refused(fences)
  if ARGV[8] ~= '' and redis.call('HGET', fences, ARGV[8]) ~= ARGV[9] then return {-2} end
  if ARGV[10] ~= '' and redis.call('HEXISTS', KEYS[3], ARGV[10]) == 0 then return {-3} end
  local max = tonumber(ARGV[4])
  if max > 0 then
    local len = redis.call('XLEN', KEYS[1])
    if len >= max then return {-1, len} end
  end
  return nil
end

local function write(expire, also)
  local events = KEYS[1]
  local id = redis.call('XADD', events, '*', 'e', ARGV[1])
  if also then also() end
  redis.call('PUBLISH', ARGV[2], id .. ' ' .. ARGV[1])
  local ikey = ARGV[3]
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
  for i = 1, #expire do redis.call('PEXPIRE', expire[i], retention) end
  return {1, id, false, redis.call('HGET', KEYS[2], 'flow')}
end
`

/**
 * The append script: one round trip, one slot (all KEYS share the run's hash tag).
 *
 * KEYS and ARGV as {@link APPEND_CORE}; KEYS 4.. further run keys that expire with the run;
 * with a fence, the last KEY is the run's fences hash, and the event is stored only while it
 * maps the fence name (ARGV 8) to the token (ARGV 9).
 *
 * Returns `{1, id, startedAtMs?, flow?}` for a new event (`startedAtMs` on
 * flow.started, `flow` — the run's flow name, if known — on a terminal event), `{0, id, fields?}` for a
 * repeated idempotency key (the stored entry's fields), `{-1, len}` when the
 * run is too long, `{-2}` when the fence does not hold the token, `{-3}` when
 * the key of ARGV 10 is not stored (nothing written). The record's `ts` is the millisecond part of the id, so
 * the clock is Redis's (XADD `*`), with no TIME call.
 */
export const APPEND_LUA = `${APPEND_CORE}
local r = repeated(ARGV[3]) or refused(KEYS[#KEYS])
if r then return r end
return write(KEYS)
`

/**
 * The create-run script: a run's state document and its first event, all or nothing, in the
 * run's slot.
 *
 * KEYS: 1 events stream, 2 summary hash, 3 idempotency hash, 4 the run's state hash, 5 the
 * run's fences hash. ARGV 1..10 as {@link APPEND_CORE} (3 is the create's idempotency key,
 * 8 and 10 are ''), 11 the state document JSON, 12 '1' to replace the fences ('0':
 * unchanged), 13.. fence name, token pairs.
 *
 * When the run has no state and no event under the idempotency key: appends the event as the
 * append script does, stores the document at version 1 (and the fences), and returns the
 * append script's `{1, id, startedAtMs?, flow?}` (or its `{-1, len}`: nothing written).
 * Otherwise writes nothing and returns `{0, eventId|false, eventFields|false,
 * stateVersion|false, stateDoc|false}`.
 */
export const CREATE_RUN_LUA = `${APPEND_CORE}
local prev = redis.call('HGET', KEYS[3], ARGV[3])
local v = redis.call('HGET', KEYS[4], 'v')
if prev or v then
  local fields = false
  if prev then
    local entry = redis.call('XRANGE', KEYS[1], prev, prev)
    if entry[1] then fields = entry[1][2] end
  end
  local d = false
  if v then d = redis.call('HGET', KEYS[4], 'd') end
  return {0, prev, fields, v, d}
end
local r = refused(KEYS[5])
if r then return r end
return write(KEYS, function()
  redis.call('HSET', KEYS[4], 'v', 1, 'd', ARGV[11])
  if ARGV[12] == '1' then
    redis.call('DEL', KEYS[5])
    if #ARGV > 12 then redis.call('HSET', KEYS[5], unpack(ARGV, 13)) end
  end
end)
`
