// The limit scripts (redisLimits.ts): each call is one script on the keys of one scope, which
// share the `{lim:<scope>}` tag (keys.ts lists them). KEYS[1] is a key of that tag (it routes the
// call on Cluster); the script builds the others from ARGV[1], the tag `<prefix>:{lim:<scope>}`.
// Time is the server's (TIME), so every process agrees; Redis ≥ 5 replicates a script's effects,
// which allows it. The semantics mirror core's memoryLimits.ts step for step.

import { LIMIT_LIB } from './limitLib.js'

/**
 * Acquire: admit, queue or refuse one holder, and admit what fits from the queue.
 * KEYS: 1 the scope's held hash (routes the call). ARGV: 1 the scope tag, 2 holder, 3 its entry
 * JSON `{needs, leaseMs?, priority}`, 4 priority, 5 `queue` | `refuse` | `refuseRate`, 6 singleton key, 7
 * singleton mode (`skip` | `cancel`; '' none).
 * Returns `{state, admitted, blockedId, blockedKey, retryAt (-1 none), superseded, taken, ahead (-1
 * none), next}` (`next`: the moved heads' turns, flat `{holder, retryAt, ...}`).
 */
export const LIMIT_ACQUIRE_LUA = `${LIMIT_LIB}
local holder, entryJson = ARGV[2], ARGV[3]
local entry = cjson.decode(entryJson)
local needs, leaseMs = entry.needs, entry.leaseMs
local refuse = ARGV[5] == 'refuse'
local skey, mode = ARGV[6], ARGV[7]
local superseded = ''
-- this ask's limits become its keys' (of keys in use now; a key it takes or queues in, below)
local function asked()
  for _, n in ipairs(needs) do redis.call('HSET', LIM, slot(n), n.limit) end
end
for _, n in ipairs(needs) do
  if redis.call('HEXISTS', SEEN, slot(n)) == 1 then redis.call('HSET', LIM, slot(n), n.limit) end
end
if mode ~= '' then
  local cur = redis.call('HGET', SINGLE, skey)
  if cur and cur ~= holder then
    if mode == 'skip' then return {'taken', {}, '', '', -1, '', cur} end
    superseded = cur
  end
end
local function settle(state, admitted, b)
  if mode ~= '' then
    if superseded ~= '' then redis.call('HDEL', SINGLE_OF, superseded) end
    redis.call('HSET', SINGLE, skey, holder)
    redis.call('HSET', SINGLE_OF, holder, skey)
  end
  if not b then return {state, admitted, '', '', -1, superseded, '', -1, turns()} end
  -- a queued holder kept out by a rate limit: how many wait ahead of it in its line, and its turn
  local ahead, at = -1, b[3]
  if state == 'queued' then
    local w = redis.call('HGET', WAIT, holder)
    if w then
      local wn = cjson.decode(w).needs
      for _, n in ipairs(wn) do
        if n.kind == 'rate' and n.id == b[1] then
          ahead = redis.call('ZRANK', lineKey(lineOf(wn)), holder) or -1
          if ahead >= 0 and at >= 0 then at = turnOf(n, ahead) end
        end
      end
    end
  end
  return {state, admitted, b[1], b[2], at, superseded, '', ahead, turns()}
end
local function has(list, x)
  for _, v in ipairs(list) do if v == x then return true end end
  return false
end

local held = holds(holder)
if held then
  -- asking again changes nothing for the others
  if leaseMs then renew(holder, held.needs, leaseMs) end
  return settle('admitted', {}, nil)
end
local waiting = redis.call('HGET', WAIT, holder)
if waiting then
  -- its own line only (memoryLimits.ts the same): each holder waiting in another line asks again for its own
  local wn = cjson.decode(waiting).needs
  local admitted = pump({ [lineOf(wn)] = true })
  if has(admitted, holder) then return settle('admitted', admitted, nil) end
  return settle('queued', admitted, blockOf(wn) or {wn[1].id, wn[1].key, -1})
end
-- a drop rate limit's newcomer: refused while a rate window is full; else let in, it counts in
-- its rate windows now (a drop rate limit counts the starts it lets in, running or waiting) and
-- waits, as any, for the rest only (memoryLimits.ts the same)
if ARGV[5] == 'refuseRate' then
  local rates, others = {}, {}
  for _, n in ipairs(needs) do
    if n.kind == 'rate' then rates[#rates + 1] = n else others[#others + 1] = n end
  end
  local b = blockOf(rates)
  if b then return {'refused', {}, b[1], b[2], b[3], '', ''} end
  if #rates > 0 then
    for _, n in ipairs(rates) do
      see(n)
      redis.call('HSET', LIM, slot(n), n.limit)
      redis.call('ZADD', windowKey(n), now, redis.call('INCR', SEQ))
      redis.call('PEXPIRE', windowKey(n), math.max(1, math.ceil(n.periodMs)))
    end
    needs = others
    entry.needs = others
    -- cjson writes an empty table as {}: the entry's needs stay a list
    entryJson = (string.gsub(cjson.encode(entry), '"needs":{}', '"needs":[]'))
  end
end
-- those already waiting go first (a call that may refuse admits no one else: its answer could
-- not name them); a newcomer whose line waits takes its place in it
local admitted = {}
if not refuse then admitted = pump({ [lineOf(needs)] = true }) end
-- when no need blocks it now (it waits behind its line): the first keyed need, else the first
local first = {'', '', -1}
for _, n in ipairs(needs) do
  if n.key ~= '' then first = {n.id, n.key, -1} break end
end
if first[1] == '' and needs[1] then first = {needs[1].id, needs[1].key, -1} end
if redis.call('EXISTS', lineKey(lineOf(needs))) == 0 then
  local b = blockOf(needs)
  if not b then
    take(holder, entryJson, needs, leaseMs)
    asked()
    admitted[#admitted + 1] = holder
    return settle('admitted', admitted, nil)
  end
  if refuse then return {'refused', {}, b[1], b[2], b[3], '', ''} end
elseif refuse then
  local b = blockOf(needs) or first
  return {'refused', {}, b[1], b[2], b[3], '', ''}
end
for _, n in ipairs(needs) do see(n) end
asked()
redis.call('HSET', WAIT, holder, entryJson)
local line = lineOf(needs)
local qk = lineKey(line)
if redis.call('EXISTS', qk) == 0 then redis.call('RPUSH', RING, line) end
redis.call('ZADD', qk, (100 - tonumber(ARGV[4])) * 1e12 + redis.call('INCR', SEQ), holder)
for _, h in ipairs(pump({ [line] = true })) do admitted[#admitted + 1] = h end
if has(admitted, holder) then return settle('admitted', admitted, nil) end
return settle('queued', admitted, blockOf(needs) or first)
`

/**
 * Release: the holder's slots, its place in line and its singleton key go; what fits is admitted.
 * KEYS: 1 the scope's held hash. ARGV: 1 the scope tag, 2 holder. Returns `{admitted, next}`: the
 * holders admitted, and the turns of the heads of rate-limited lines it moved, flat `{holder, retryAt, ...}`.
 */
export const LIMIT_RELEASE_LUA = `${LIMIT_LIB}
local holder = ARGV[2]
-- the concurrency slots it frees that were full: the heads they kept out may now wait for a rate window
local full = {}
local was = redis.call('HGET', HELD, holder)
if was then
  for _, n in ipairs(cjson.decode(was).needs) do
    if n.kind ~= 'rate' then
      redis.call('ZREMRANGEBYSCORE', slotsKey(n), '-inf', now)
      if redis.call('ZCARD', slotsKey(n)) >= limitOf(n) then full[slot(n)] = true end
    end
  end
end
local freed = drop(holder)
-- the lines that can admit now: a freed keyed slot's own line; any line when a slot without a
-- key (shared by every line) or several slots were freed
local only = {}
if #freed > 1 or (#freed == 1 and freed[1].key == '') then only = nil
elseif #freed == 1 then only[slot(freed[1])] = true end
local waiting = redis.call('HGET', WAIT, holder)
if waiting then
  redis.call('HDEL', WAIT, holder)
  local line = lineOf(cjson.decode(waiting).needs)
  local qk = lineKey(line)
  -- the holder behind it is first now: its turn may come sooner than it was told
  if redis.call('ZRANK', qk, holder) == 0 then MOVED[line] = true end
  redis.call('ZREM', qk, holder)
  if redis.call('EXISTS', qk) == 0 then redis.call('LREM', RING, 0, line) elseif only then only[line] = true end
  for _, n in ipairs(cjson.decode(waiting).needs) do forget(n) end
end
local skey = redis.call('HGET', SINGLE_OF, holder)
if skey then
  redis.call('HDEL', SINGLE_OF, holder)
  if redis.call('HGET', SINGLE, skey) == holder then redis.call('HDEL', SINGLE, skey) end
end
local admitted = {}
if not (only and next(only) == nil) then admitted = pump(only) end
if next(full) ~= nil then
  local lines = {}
  if only then for line in pairs(only) do lines[#lines + 1] = line end else lines = redis.call('LRANGE', RING, 0, MAX_PUMP - 1) end
  for _, line in ipairs(lines) do
    local head = redis.call('ZRANGE', lineKey(line), 0, 0)[1]
    local e = head and redis.call('HGET', WAIT, head)
    if e then
      for _, n in ipairs(cjson.decode(e).needs) do
        if full[slot(n)] then MOVED[line] = true break end
      end
    end
  end
end
return {admitted, turns()}
`

/**
 * Renew: a held holder's concurrency slots expire leaseMs from now.
 * KEYS: 1 the scope's held hash. ARGV: 1 the scope tag, 2 holder, 3 leaseMs. Returns 1, or 0 when
 * it holds none (expired or released).
 */
export const LIMIT_RENEW_LUA = `${LIMIT_LIB}
local held = holds(ARGV[2])
if not held then return 0 end
renew(ARGV[2], held.needs, tonumber(ARGV[3]))
return 1
`

/**
 * Usage: each limit with holders, admissions in its window or a line, as
 * `{slot, kind, active, queued, ...}` (`slot` = `<id>:<key>`); idle ones are forgotten.
 * KEYS: 1 the scope's seen hash. ARGV: 1 the scope tag.
 */
export const LIMIT_USAGE_LUA = `${LIMIT_LIB}
local seen = redis.call('HGETALL', SEEN)
local out = {}
for i = 1, #seen, 2 do
  local s, what = seen[i], seen[i + 1]
  local active
  if what == 'concurrency' then
    local hk = base .. ':h:' .. s
    redis.call('ZREMRANGEBYSCORE', hk, '-inf', now)
    active = redis.call('ZCARD', hk)
  else
    local wk = base .. ':w:' .. s
    redis.call('ZREMRANGEBYSCORE', wk, '-inf', now - tonumber(string.sub(what, 6)))
    active = redis.call('ZCARD', wk)
  end
  local queued = redis.call('ZCARD', lineKey(s))
  if active == 0 and queued == 0 then
    redis.call('HDEL', SEEN, s)
    redis.call('HDEL', LIM, s)
  else
    out[#out + 1] = s
    out[#out + 1] = what
    out[#out + 1] = active
    out[#out + 1] = queued
  end
end
return out
`

/**
 * Holders: the holders of unleased concurrency slots, unsorted, maybe repeated.
 * KEYS: 1 the scope's seen hash. ARGV: 1 the scope tag.
 */
export const LIMIT_HOLDERS_LUA = `${LIMIT_LIB}
local seen = redis.call('HGETALL', SEEN)
local out = {}
for i = 1, #seen, 2 do
  if seen[i + 1] == 'concurrency' then
    for _, h in ipairs(redis.call('ZRANGEBYSCORE', base .. ':h:' .. seen[i], '+inf', '+inf')) do out[#out + 1] = h end
  end
end
return out
`

/**
 * Debounce: open a window of the key for the holder, or fold into the open one (its input
 * replaced; due `periodMs` after this call, at most `maxWaitMs` after the first). A window
 * expires a minute after it came due (its run never settled it: the start crashed).
 * KEYS: 1 the window's hash. ARGV: 1 the scope tag, 2 holder, 3 periodMs, 4 maxWaitMs ('' none),
 * 5 input JSON. Returns `{holder, until, first (1 | 0)}`.
 */
export const LIMIT_DEBOUNCE_LUA = `${LIMIT_LIB}
local dk = KEYS[1]
local period = tonumber(ARGV[3])
local maxWait = tonumber(ARGV[4])
local cur = redis.call('HMGET', dk, 'holder', 'first', 'until')
-- a window its run never settled (the start that opened it crashed) is gone a minute after it came due
if cur[1] and tonumber(cur[3]) + STALE_WINDOW_MS > now then
  local due = now + period
  if maxWait then due = math.min(due, tonumber(cur[2]) + maxWait) end
  redis.call('HSET', dk, 'until', due, 'input', ARGV[5])
  redis.call('PEXPIREAT', dk, due + STALE_WINDOW_MS)
  return {cur[1], due, 0}
end
local due = now + period
if maxWait then due = math.min(due, now + maxWait) end
redis.call('DEL', dk)
redis.call('HSET', dk, 'holder', ARGV[2], 'first', now, 'until', due, 'input', ARGV[5])
redis.call('PEXPIREAT', dk, due + STALE_WINDOW_MS)
return {ARGV[2], due, 1}
`

/**
 * Drop a debounce window: the holder's window of the key closes at once (its run was canceled).
 * KEYS: 1 the window's hash. ARGV: 1 the scope tag, 2 holder. Returns 1 (dropped) or 0 (no window of this holder).
 */
export const LIMIT_DROP_DEBOUNCE_LUA = `
if redis.call('HGET', KEYS[1], 'holder') ~= ARGV[2] then return 0 end
redis.call('DEL', KEYS[1])
return 1
`

/**
 * Settle a debounce: the holder's window of the key closes when due.
 * KEYS: 1 the window's hash. ARGV: 1 the scope tag, 2 holder.
 * Returns `{2, input JSON}` (closed), `{1, until}` (not due), `{0}` (no window of this holder).
 */
export const LIMIT_SETTLE_LUA = `${LIMIT_LIB}
local cur = redis.call('HMGET', KEYS[1], 'holder', 'until', 'input')
if not cur[1] or cur[1] ~= ARGV[2] then return {0} end
if tonumber(cur[2]) > now then return {1, tonumber(cur[2])} end
redis.call('DEL', KEYS[1])
return {2, cur[3]}
`
