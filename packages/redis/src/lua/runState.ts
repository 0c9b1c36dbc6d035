/**
 * Compare-and-set of a run's state document (a hash `v` version, `d` JSON)
 * in the run's slot, with the run's fences.
 * KEYS: 1 the run's state hash, 2 the run's fences hash (same slot).
 * ARGV: 1 expected version (0: only when absent), 2 the new document JSON,
 * 3 ms to keep it (0: no expiry; a finished run's retention), 4 '1' to
 * replace the fences ('0': unchanged), 5.. fence name, token pairs.
 * Returns `{1, newVersion}`, or `{0, currentVersion, currentDoc}` (`{0, 0}` when absent).
 */
export const RUN_STATE_CAS_LUA = `
local v = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
if v ~= tonumber(ARGV[1]) then
  if v == 0 then return {0, 0} end
  return {0, v, redis.call('HGET', KEYS[1], 'd')}
end
redis.call('HSET', KEYS[1], 'v', v + 1, 'd', ARGV[2])
if ARGV[4] == '1' then
  redis.call('DEL', KEYS[2])
  -- in pages of 500 pairs: Lua's unpack caps a call's arguments at a few thousand (a flow of 4,000 steps)
  for i = 5, #ARGV, 1000 do redis.call('HSET', KEYS[2], unpack(ARGV, i, math.min(i + 999, #ARGV))) end
end
local ttl = tonumber(ARGV[3])
if ttl > 0 then
  redis.call('PEXPIRE', KEYS[1], ttl)
  redis.call('PEXPIRE', KEYS[2], ttl)
end
return {1, v + 1}
`

/**
 * Stores an external event with the next global sequence number, all in
 * the external events' slot.
 * KEYS: 1 the sequence counter, 2 the kind's stream, 3 the idempotency key
 * (any key of the slot when none).
 * ARGV: 1 data JSON, 2 '1' with an idempotency key, 3 retention ms, 4 the kind.
 * Returns `{seq, ms, dataJson, kind}` — the first record's on a repeated key (its kind `''` when
 * the key was written before keys kept their kind).
 * The key holds `seq|ms|k<kind>|dataJson` (`seq|ms|dataJson` before: JSON never starts with `k`).
 */
export const PUBLISH_EXTERNAL_LUA = `
if ARGV[2] == '1' then
  local prev = redis.call('GET', KEYS[3])
  if prev then
    local a = string.find(prev, '|', 1, true)
    local b = string.find(prev, '|', a + 1, true)
    local kind, rest = '', b + 1
    if string.sub(prev, rest, rest) == 'k' then
      local c = string.find(prev, '|', rest, true)
      kind, rest = string.sub(prev, rest + 1, c - 1), c + 1
    end
    return {tonumber(string.sub(prev, 1, a - 1)), tonumber(string.sub(prev, a + 1, b - 1)), string.sub(prev, rest), kind}
  end
end
local t = redis.call('TIME')
local ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local seq = redis.call('INCR', KEYS[1])
local keep = tonumber(ARGV[3])
redis.call('XADD', KEYS[2], 'MINID', '~', tostring(ms - keep), '*', 's', seq, 'm', ms, 'd', ARGV[1])
redis.call('PEXPIRE', KEYS[2], keep)
if ARGV[2] == '1' then redis.call('SET', KEYS[3], seq .. '|' .. ms .. '|k' .. ARGV[4] .. '|' .. ARGV[1], 'PX', keep) end
return {seq, ms, ARGV[1], ARGV[4]}
`

/**
 * Puts a child's outcome in its parent's outbox (see `RunStateStore.putChildOutcome`).
 * KEYS: 1 the parent's state hash, 2 the parent's outbox (same slot).
 * ARGV: 1 child run id, 2 outcome JSON, 3 retention ms, 4 '1' to take the outbox when telling.
 * Returns `{-2}` (the parent has no document: nothing stored), `{-1}` (a fold is on its way), or,
 * when the caller must fold: `{ms since the last take (-3 when never taken), …}` followed, when
 * asked to take, by the outbox's fields and values (as `takeChildOutcomes`).
 */
export const PUT_CHILD_OUTCOME_LUA = `
if redis.call('EXISTS', KEYS[1]) == 0 then return {-2} end
redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[2])
local ttl = tonumber(ARGV[3])
local left = redis.call('PTTL', KEYS[1])
if left > 0 and left < ttl then ttl = left end
redis.call('PEXPIRE', KEYS[2], ttl)
local teller = redis.call('HGET', KEYS[2], '~')
if teller and teller ~= ARGV[1] then return {-1} end
local taken = redis.call('HGET', KEYS[2], '@')
local t = redis.call('TIME')
local ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local since = -3
if taken then since = math.max(0, ms - tonumber(taken)) end
if ARGV[4] ~= '1' then
  if not teller then redis.call('HSET', KEYS[2], '~', ARGV[1]) end
  return {since}
end
redis.call('HDEL', KEYS[2], '~')
redis.call('HSET', KEYS[2], '@', ms)
local out = redis.call('HGETALL', KEYS[2])
table.insert(out, 1, since)
return out
`

/**
 * Takes a parent's outbox (see `RunStateStore.takeChildOutcomes`): no fold is on its way any
 * more, the take's time noted; every outcome returned (child run id, JSON, … flat).
 * KEYS: 1 the parent's outbox.
 */
export const TAKE_CHILD_OUTCOMES_LUA = `
if redis.call('EXISTS', KEYS[1]) == 0 then return {} end
local t = redis.call('TIME')
redis.call('HDEL', KEYS[1], '~')
redis.call('HSET', KEYS[1], '@', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
return redis.call('HGETALL', KEYS[1])
`
