// The Lua shared by every limit script (lua/limits.ts): the server's clock, the key names built
// from the scope tag, and admission. Its semantics mirror core's memoryLimits.ts step for step.

/** Shared by every limit script: the clock, the key names, and admission. */
export const LIMIT_LIB = `
local base = ARGV[1]
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local HELD, WAIT, RING, SEQ = base .. ':held', base .. ':wait', base .. ':ring', base .. ':seq'
local SINGLE, SINGLE_OF, SEEN = base .. ':single', base .. ':singleOf', base .. ':seen'
-- each key's limit as its latest ask gave it (a deploy that changes a limit reaches the runs in line)
local LIM = base .. ':lim'
-- most queued entries one call looks at while admitting (memoryLimits.ts has the same bound)
local MAX_PUMP = 1000
-- a debounce window not settled this long after it came due is gone (memoryLimits.ts the same)
local STALE_WINDOW_MS = 60000
-- the lines whose head this call admitted (pump) or released while others wait in them
local MOVED = {}

local function slot(n) return n.id .. ':' .. n.key end
local function slotsKey(n) return base .. ':h:' .. slot(n) end
local function windowKey(n) return base .. ':w:' .. slot(n) end
local function lineKey(line) return base .. ':q:' .. line end
-- the round-robin line of a holder: its first need with a key, else its first need
local function lineOf(needs)
  for _, n in ipairs(needs) do if n.key ~= '' then return slot(n) end end
  if needs[1] then return slot(needs[1]) end
  return ''
end

-- the limit of need n's key: its latest ask's, else the need's own
local function limitOf(n)
  local v = redis.call('HGET', LIM, slot(n))
  if v then return tonumber(v) end
  return n.limit
end

local function see(n)
  local what = 'concurrency'
  if n.kind == 'rate' then what = 'rate:' .. string.format('%d', n.periodMs) end
  redis.call('HSET', SEEN, slot(n), what)
end

-- forgets the key of need n once no one holds it, counts in its window or waits in its line (usage
-- would list none of it): keys used once do not pile up. A rate key's window expires a period
-- after its last admission; its entry goes at the next usage call, once its line empties, or at
-- a later admission's sweep
local function forget(n)
  local k = slotsKey(n)
  if n.kind == 'rate' then k = windowKey(n) end
  if redis.call('EXISTS', k, lineKey(slot(n))) == 0 then redis.call('HDEL', SEEN, slot(n)) redis.call('HDEL', LIM, slot(n)) end
end

-- the next few usage entries (HSCAN from a cursor kept a minute) whose rate window expired with
-- no line are forgotten, once per call that admits into a rate window: a keyed rate limit (a key
-- per user) leaves no entry per key for ever in a service that never lists its usage
local SWEEP = base .. ':sweep'
local swept = false
local function sweep()
  if swept then return end
  swept = true
  local page = redis.call('HSCAN', SEEN, redis.call('GET', SWEEP) or '0', 'COUNT', 16)
  if page[1] == '0' then redis.call('DEL', SWEEP) else redis.call('SET', SWEEP, page[1], 'PX', 60000) end
  local f = page[2]
  for i = 1, #f, 2 do
    local s = f[i]
    if string.sub(f[i + 1], 1, 5) == 'rate:' and redis.call('EXISTS', base .. ':w:' .. s, lineKey(s)) == 0 then
      redis.call('HDEL', SEEN, s)
      redis.call('HDEL', LIM, s)
    end
  end
end

-- frees the holder's concurrency slots; returns the needs freed
local function drop(holder)
  local e = redis.call('HGET', HELD, holder)
  if not e then return {} end
  local freed = {}
  for _, n in ipairs(cjson.decode(e).needs) do
    if n.kind ~= 'rate' then
      redis.call('ZREM', slotsKey(n), holder)
      freed[#freed + 1] = n
      forget(n)
    end
  end
  redis.call('HDEL', HELD, holder)
  return freed
end

-- the first need that keeps a holder out now: {id, key, retryAt (-1: none)}; nil when all admit
local function blockOf(needs)
  for _, n in ipairs(needs) do
    if n.kind == 'rate' then
      local wk = windowKey(n)
      redis.call('ZREMRANGEBYSCORE', wk, '-inf', now - n.periodMs)
      if redis.call('ZCARD', wk) >= limitOf(n) then
        local oldest = redis.call('ZRANGE', wk, 0, 0, 'WITHSCORES')
        return {n.id, n.key, tonumber(oldest[2]) + n.periodMs}
      end
    else
      local hk = slotsKey(n)
      -- slots whose lease ran out (a worker that died holding one): their holders go, held entry and all
      for _, h in ipairs(redis.call('ZRANGEBYSCORE', hk, '-inf', now)) do drop(h) end
      redis.call('ZREMRANGEBYSCORE', hk, '-inf', now)
      if redis.call('ZCARD', hk) >= limitOf(n) then
        local soonest = redis.call('ZRANGE', hk, 0, 0, 'WITHSCORES')
        if soonest[2] == 'inf' then return {n.id, n.key, -1} end
        return {n.id, n.key, tonumber(soonest[2])}
      end
    end
  end
  return nil
end

-- when the holder with r waiting ahead of it may be admitted by rate need n at the earliest: the
-- admission limit places before its own leaves the window (counted on from the window's admissions,
-- a period later for each limit places further), or now, plus the periods it waits behind others
local function turnOf(n, r)
  local wk = windowKey(n)
  local limit = limitOf(n)
  local k = math.floor(r / limit) + 1
  local i = redis.call('ZCARD', wk) + r - k * limit
  if i < 0 then return now + (k - 1) * n.periodMs end
  return tonumber(redis.call('ZRANGE', wk, i, i, 'WITHSCORES')[2]) + k * n.periodMs
end

local function expiry(leaseMs)
  if leaseMs then return now + leaseMs end
  return '+inf'
end

-- the holder takes a slot in each need and an admission in each window
local function take(holder, entryJson, needs, leaseMs)
  local exp = expiry(leaseMs)
  for _, n in ipairs(needs) do
    see(n)
    if n.kind == 'rate' then
      -- the window goes with its newest admission: it counts nothing a period later
      redis.call('ZADD', windowKey(n), now, redis.call('INCR', SEQ))
      redis.call('PEXPIRE', windowKey(n), math.max(1, math.ceil(n.periodMs)))
      sweep()
    else
      redis.call('ZADD', slotsKey(n), exp, holder)
    end
  end
  redis.call('HSET', HELD, holder, entryJson)
end

-- a held holder's concurrency slots now expire leaseMs from now (its admissions stay as they are)
local function renew(holder, needs, leaseMs)
  local exp = expiry(leaseMs)
  for _, n in ipairs(needs) do
    if n.kind ~= 'rate' then redis.call('ZADD', slotsKey(n), exp, holder) end
  end
end


-- the held entry while the holder holds every concurrency slot it took (none expired), else nil
local function holds(holder)
  local e = redis.call('HGET', HELD, holder)
  if not e then return nil end
  local entry = cjson.decode(e)
  for _, n in ipairs(entry.needs) do
    if n.kind ~= 'rate' then
      local exp = redis.call('ZSCORE', slotsKey(n), holder)
      if not exp or (exp ~= 'inf' and tonumber(exp) <= now) then
        drop(holder)
        return nil
      end
    end
  end
  return entry
end

local function writeRing(ring)
  redis.call('DEL', RING)
  for i = 1, #ring, 1000 do
    redis.call('RPUSH', RING, unpack(ring, i, math.min(i + 999, #ring)))
  end
end

-- admits what fits, taking turns across round-robin keys: a line served goes behind the others,
-- a blocked head keeps its line's turn; returns the holders admitted, in order. With only (a set
-- of lines), looks at those lines alone: the ones what just changed can admit from
local function pump(only)
  local admitted = {}
  local ring = redis.call('LRANGE', RING, 0, -1)
  local changed = false
  local looked = 0
  local progress = true
  while progress and #ring > 0 and looked < MAX_PUMP do
    progress = false
    local kept, served = {}, {}
    for _, line in ipairs(ring) do
      local qk = lineKey(line)
      local head = nil
      if only and not only[line] then
        kept[#kept + 1] = line
      else
        head = redis.call('ZRANGE', qk, 0, 0)[1]
        looked = looked + 1
      end
      if only and not only[line] then
        -- not looked at
      elseif not head then
        changed = true
      else
        local e = redis.call('HGET', WAIT, head)
        local entry = e and cjson.decode(e)
        if e and (looked > MAX_PUMP or blockOf(entry.needs)) then
          kept[#kept + 1] = line
        else
          redis.call('ZREM', qk, head)
          if e then
            redis.call('HDEL', WAIT, head)
            take(head, e, entry.needs, entry.leaseMs)
            admitted[#admitted + 1] = head
            progress = true
          end
          changed = true
          if redis.call('EXISTS', qk) == 1 then
            if e then
              served[#served + 1] = line
              MOVED[line] = true
            else kept[#kept + 1] = line end
          end
        end
      end
    end
    ring = kept
    for _, line in ipairs(served) do ring[#ring + 1] = line end
  end
  if changed then writeRing(ring) end
  return admitted
end

-- the heads of the MOVED lines a rate limit keeps out, with their turns, flat: {holder, retryAt, ...}
-- (each asks again then: the turn it was given assumed the line as it was)
local function turns()
  local out = {}
  for line in pairs(MOVED) do
    local head = redis.call('ZRANGE', lineKey(line), 0, 0)[1]
    local e = head and redis.call('HGET', WAIT, head)
    if e then
      local needs = cjson.decode(e).needs
      local b = blockOf(needs)
      if b and b[3] >= 0 then
        for _, n in ipairs(needs) do
          if n.kind == 'rate' and n.id == b[1] then
            out[#out + 1] = head
            out[#out + 1] = turnOf(n, 0)
            break
          end
        end
      end
    end
  end
  return out
end
`
