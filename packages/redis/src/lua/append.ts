// The append logic, shared by the append script and the create-run script: one Lua source in
// blocks (no per-call closures: append is the hot path), so both store, publish, index and
// expire an event the same way.
//
// KEYS: 1 events stream, 2 summary hash, 3 idempotency hash.
// ARGV: 1 event JSON, 2 live channel, 3 idempotency key ('' for none), 4 maxEventsPerRun (0: no
// limit), 5 retention ms, 6 run status the event sets ('' for none, 'running' on flow.started,
// 'queued' on flow.queued, else the terminal status), 7 flow name, 8 fence name ('' for none),
// 9 fence token, 10 an idempotency key that must already be stored ('' for none), 11 the event's
// step field in the summary hash (`s:<step>`; '' for none), 12 what the event makes that step:
// 'r' running, retrying or queued, 'g' running from a step.started (which also admits a queued
// run, with or without a step), 'a' awaiting, 'd' neither (completed, failed), '' unchanged, 13
// the flow version of a flow.started (`data.version`; '' for none), 14 of a step event its await
// position (`data.position` as ' <n> ', ' - ' for none), of a flow.started its `data.parent` as
// `<bytes of runId>:<runId><step>` ('' for none). The script never decodes the event JSON: the
// client works these out (internal/eventArgs.ts), as Lua's cjson refuses some JSON that
// JavaScript reads (a lone surrogate escape, deep nesting).
//
// Every check runs before the first write, and the first write is the XADD: Redis refuses a
// script's first write at `maxmemory` but never a later one, so an event is either stored with
// everything that goes with it, or nothing is written.
//
// The run's status, as the reducer gives it, is kept in the summary hash: `status` (absent
// before flow.started), `sid` (the id of the event that set it: the index entry's version),
// `startedAt`, `completedAt`, `flow`, and per live step `s:<step>` ('r' or 'a') with the counts
// `nr` and `na`: a started run is `awaiting` while na > 0 and nr = 0, else `running`; a
// `flow.queued` makes a started run `queued` until its first `step.started`; a terminal status
// sticks. Parallel awaits: while a step has several awaits pending, `p:<step>` lists their
// positions (`data.position`, ' - ' for an await without one) as ' 0 2 ', so that the
// `step.resumed` or `step.await.timeout` of one of them leaves the step awaiting on the others,
// as the reducer does; any other step event ends them. `parentRun`, `parentStep`: `data.parent`
// of flow.started (a run started by `ctx.invoke`); `children`: its step.await.run events. When
// the status changes (and on a repeated event that could change it), the reply carries the index entry `flow, status, sid, startedAt` for the client to write
// in the flow's slot (lua/runIndex.ts).

/** A repeated idempotency key (ARGV 3): answers the first record (and the run's index entry when the event could change the status). */
const REPEAT = `
if ARGV[3] ~= '' then
  local prev = redis.call('HGET', KEYS[3], ARGV[3])
  if prev then
    local entry = redis.call('XRANGE', KEYS[1], prev, prev)
    local fields = false
    if entry[1] then fields = entry[1][2] end
    if ARGV[6] == '' and ARGV[12] == '' then return {0, prev, fields} end
    local m = redis.call('HMGET', KEYS[2], 'flow', 'status', 'sid', 'startedAt')
    return {0, prev, fields, m[1], m[2], m[3], m[4]}
  end
end
`

/** The refusals (fence, `after` key, run length); needs `fences` (the fences hash key). */
const CHECKS = `
if ARGV[8] ~= '' and redis.call('HGET', fences, ARGV[8]) ~= ARGV[9] then return {-2} end
if ARGV[10] ~= '' and redis.call('HEXISTS', KEYS[3], ARGV[10]) == 0 then return {-3} end
local max = tonumber(ARGV[4])
if max > 0 then
  local len = redis.call('XLEN', KEYS[1])
  if len >= max then return {-1, len} end
end
`

/** The writes, XADD first; needs `expire` (keys to expire on a terminal event) and `also` (nil, or run after the XADD). */
const WRITE = `
local events, meta = KEYS[1], KEYS[2]
local id = redis.call('XADD', events, '*', 'e', ARGV[1])
-- an id past the last date (ms > 8.64e15: 16 digits or more, after an id written by hand) is no
-- event time: taken back (the length test keeps the common case to one opcode)
if #id > 17 then
  local dash = string.find(id, '-', 17, true)
  if dash and (dash > 17 or string.sub(id, 1, 16) > '8640000000000000') then
    redis.call('XDEL', events, id)
    return {-4, id}
  end
end
if also then also() end
redis.call('PUBLISH', ARGV[2], id .. ' ' .. ARGV[1])
if ARGV[3] ~= '' then
  redis.call('HSET', KEYS[3], ARGV[3], id)
  local ttl = redis.call('PTTL', events)
  if ttl > 0 then redis.call('PEXPIRE', KEYS[3], ttl) end
end
local status = ARGV[6]
if status == '' then
  -- the kind, from the record's first field (validateAppend writes {"kind":…,"flow":…,…})
  local kind = string.match(ARGV[1], '^{"kind":"([^"]*)"')
  if kind == 'step.await.run' then redis.call('HINCRBY', meta, 'children', 1) end
  local cls, go = ARGV[12], false
  if cls == '' then return {1, id} end
  if cls == 'g' then cls, go = 'r', true end
  local f = ARGV[11]
  local old = cls
  if f ~= '' then old = redis.call('HGET', meta, f) or 'd' end
  local ends = kind == 'step.resumed' or kind == 'step.await.timeout'
  if f ~= '' and (cls == 'a' or ends) then
    -- an await joins the step's pending positions (replacing its own); a resume or timeout
    -- leaves (every one, without a position); the step awaits while any is left
    local pf = 'p' .. string.sub(f, 2)
    local pos = ARGV[14]
    local list = ' '
    if cls == 'a' or pos ~= ' - ' then
      list = redis.call('HGET', meta, pf) or ' '
      local i = string.find(list, pos, 1, true)
      if i then list = string.sub(list, 1, i) .. string.sub(list, i + #pos) end
      if cls == 'a' then list = list .. string.sub(pos, 2) end
    end
    if list == ' ' then
      redis.call('HDEL', meta, pf)
    else
      redis.call('HSET', meta, pf, list)
      cls = 'a'
    end
  elseif f ~= '' and old == 'a' then
    redis.call('HDEL', meta, 'p' .. string.sub(f, 2))
  end
  if old == cls and not go then return {1, id} end
  local m = redis.call('HMGET', meta, 'status', 'na', 'nr', 'flow', 'startedAt')
  local was = m[1]
  if was == 'completed' or was == 'failed' or was == 'canceled' then return {1, id} end
  if old == cls and was ~= 'queued' then return {1, id} end
  local na, nr = tonumber(m[2] or '0'), tonumber(m[3] or '0')
  if old ~= cls then
    if old == 'a' then na = na - 1 elseif old == 'r' then nr = nr - 1 end
    if cls == 'a' then na = na + 1 elseif cls == 'r' then nr = nr + 1 end
    if cls == 'd' then redis.call('HDEL', meta, f) else redis.call('HSET', meta, f, cls) end
  end
  local now = was
  -- a queued run stays queued until a step.started admits it
  if was and (go or was ~= 'queued') then
    if na > 0 and nr == 0 then now = 'awaiting' else now = 'running' end
  end
  if now == was then
    redis.call('HSET', meta, 'na', na, 'nr', nr)
    return {1, id}
  end
  redis.call('HSET', meta, 'na', na, 'nr', nr, 'status', now, 'sid', id)
  return {1, id, false, m[4], now, id, m[5]}
end
local ms = string.match(id, '^(%d+)')
local m = redis.call('HMGET', meta, 'status', 'na', 'nr', 'flow', 'sid', 'startedAt')
local was = m[1]
if status == 'running' then
  if was then return {1, id, false, m[4], was, m[5], m[6]} end
  local now = 'running'
  if tonumber(m[2] or '0') > 0 and tonumber(m[3] or '0') == 0 then now = 'awaiting' end
  redis.call('HSET', meta, 'flow', ARGV[7], 'status', now, 'sid', id, 'startedAt', ms)
  if ARGV[13] ~= '' then redis.call('HSET', meta, 'version', ARGV[13]) end
  local n, parent = string.match(ARGV[14], '^(%d+):(.*)$')
  if n then
    n = tonumber(n)
    redis.call('HSET', meta, 'parentRun', string.sub(parent, 1, n), 'parentStep', string.sub(parent, n + 1))
  end
  local ttl = redis.call('PTTL', events)
  if ttl > 0 then redis.call('PEXPIRE', meta, ttl) end
  return {1, id, false, ARGV[7], now, id, ms}
end
if status == 'queued' then
  if was ~= 'running' and was ~= 'awaiting' then return {1, id} end
  redis.call('HSET', meta, 'status', status, 'sid', id)
  return {1, id, false, m[4], status, id, m[6]}
end
if was == 'completed' or was == 'failed' or was == 'canceled' then return {1, id} end
redis.call('HSET', meta, 'status', status, 'sid', id, 'completedAt', ms)
local retention = tonumber(ARGV[5])
for i = 1, #expire do redis.call('PEXPIRE', expire[i], retention) end
return {1, id, false, m[4], status, id, m[6]}
`

/**
 * The append script: one round trip, one slot (all KEYS share the run's hash tag).
 *
 * KEYS and ARGV as the header of this file; KEYS 4.. further run keys that expire with the run;
 * with a fence, the last KEY is the run's fences hash, and the event is stored only while it
 * maps the fence name (ARGV 8) to the token (ARGV 9).
 *
 * Returns `{1, id}` for a new event, `{1, id, false, flow, status, sid, startedAtMs}` for a
 * new event that set the run's status (the index entry to write); `{0, id, fields?, flow?,
 * status?, sid?, startedAtMs?}` for a repeated idempotency key (the stored entry's fields, and
 * the run's index entry when the event could change the status); `{-1, len}` when the run is
 * too long, `{-2}` when the fence does not hold the token, `{-3}` when the key of ARGV 10 is
 * not stored, `{-4, id}` when the stream's last id (written around leanflow) leaves no id that
 * is a date (nothing written: a new entry past 8.64e15 ms is deleted at once; past the largest
 * id, XADD fails: the client types that error the same way). The
 * record's `ts` is the millisecond part of the id, so the clock is Redis's (XADD `*`), with no
 * TIME call.
 */
export const APPEND_LUA = `
${REPEAT}
local fences, expire, also = KEYS[#KEYS], KEYS, nil
${CHECKS}
${WRITE}`

/**
 * The batch append script: several events of one run in one atomic step, each as the append
 * script stores it (a repeated idempotency key, in the stream or earlier in the batch, stores
 * nothing and answers the first record), behind one fence / `after` check and one length check
 * for the new events (each as its own append's: `maxEventsFor` its kind, counting the new events
 * before it), all before the first write.
 *
 * KEYS as the append script's. ARGV: 1 fence name ('' for none), 2 fence token, 3 an idempotency
 * key that must already be stored ('' for none), 4 maxEventsPerRun (0: no limit), 5 the number
 * of events n, then 14 per event: ARGV 1..14 of the append logic (8..10 unused).
 *
 * Returns `{-1, len}`, `{-2}`, `{-3}` or `{-4, id}` as the append script (nothing
 * written), else one reply per event, each as the append script's.
 */
export const APPEND_MANY_LUA = `
local fences, expire, also = KEYS[#KEYS], KEYS, nil
if ARGV[1] ~= '' and redis.call('HGET', fences, ARGV[1]) ~= ARGV[2] then return {-2} end
if ARGV[3] ~= '' and redis.call('HEXISTS', KEYS[3], ARGV[3]) == 0 then return {-3} end
local n = tonumber(ARGV[5])
local seen, fresh, len = {}, 0, nil
for i = 1, n do
  local b = 5 + (i - 1) * 14
  local key = ARGV[b + 3]
  local new = key == ''
  if not new and not seen[key] then
    seen[key] = true
    new = redis.call('HEXISTS', KEYS[3], key) == 0
  end
  -- each new event fits as its own append would (its kind's limit), behind the new ones before it
  local max = tonumber(ARGV[b + 4])
  if new and tonumber(ARGV[4]) > 0 and max > 0 then
    if not len then len = redis.call('XLEN', KEYS[1]) end
    if len + fresh >= max then return {-1, len} end
  end
  if new then fresh = fresh + 1 end
end
-- one event: the append logic's blocks, reading this event's arguments as ARGV
local function one(ARGV)
${REPEAT}
${WRITE}
end
local out = {}
for i = 1, n do
  local b = 5 + (i - 1) * 14
  out[i] = one({unpack(ARGV, b + 1, b + 14)})
  -- refused, nothing written: the new events before it would have been refused too (same stream top)
  if out[i][1] == -4 then return out[i] end
end
return out`

/**
 * The create-run script: a run's state document and its first event, all or nothing, in the
 * run's slot.
 *
 * KEYS: 1 events stream, 2 summary hash, 3 idempotency hash, 4 the run's state hash, 5 the
 * run's fences hash. ARGV 1..14 as the append script's (3 is the create's idempotency key,
 * 8 and 10 are ''), 15 the state document JSON, 16 '1' to replace the fences ('0':
 * unchanged), 17.. fence name, token pairs.
 *
 * When the run has no state and no event under the idempotency key: appends the event as the
 * append script does, stores the document at version 1 (and the fences), and returns what
 * the append script returns (`{-1, len}`, `{-4, id}`: nothing written). Otherwise writes
 * nothing and returns `{0, eventId|false, eventFields|false, flow, status, sid, startedAtMs,
 * stateVersion|false, stateDoc|false}`.
 */
export const CREATE_RUN_LUA = `
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
  local m = redis.call('HMGET', KEYS[2], 'flow', 'status', 'sid', 'startedAt')
  return {0, prev, fields, m[1], m[2], m[3], m[4], v, d}
end
local fences, expire = KEYS[5], KEYS
local also = function()
  redis.call('HSET', KEYS[4], 'v', 1, 'd', ARGV[15])
  if ARGV[16] == '1' then
    redis.call('DEL', KEYS[5])
    -- in pages of 500 pairs: Lua's unpack caps a call's arguments at a few thousand (a flow of 4,000 steps)
    for i = 17, #ARGV, 1000 do redis.call('HSET', KEYS[5], unpack(ARGV, i, math.min(i + 999, #ARGV))) end
  end
end
${CHECKS}
${WRITE}`
