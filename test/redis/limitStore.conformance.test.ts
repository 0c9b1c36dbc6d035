import { createRedisStreamStore } from '@leanflow/redis'
import { describeLimitStoreConformance, uniqueName } from '@leanflow/testing'
import { expect, it } from 'vitest'
import { useRedisServer } from '../helpers/redisServer.js'

const redis = useRedisServer({ client: true })

// The LimitStore contract on a standalone Redis, each test under its own key prefix.
describeLimitStoreConformance('redis', {
  store: async () => {
    const prefix = uniqueName('l')
    return createRedisStreamStore({ url: redis.url, prefix, connectionName: prefix })
  },
})

it('the limit scripts use the key names keys.ts documents, all in the scope slot', async () => {
  const prefix = uniqueName('l')
  const store = createRedisStreamStore({ url: redis.url, prefix, connectionName: prefix })
  const raw = redis.client
  try {
    const { keys } = store
    const scope = 'sync/step'
    const c = { id: 'concurrency.0', kind: 'concurrency', key: 't1', limit: 1 } as const
    const r = { id: 'rateLimit', kind: 'rate', key: '', limit: 5, periodMs: 60_000 } as const
    await store.acquireLimit(scope, { holder: 'a~step', needs: [c, r], singleton: { key: 'u1', mode: 'skip' } })
    await store.acquireLimit(scope, { holder: 'b~step', needs: [c, r] })
    await store.debounce(scope, 'u1', 'a~step', { periodMs: 60_000, input: { n: 1 } })
    const expected = [
      keys.limitHeld(scope),
      keys.limitWaiting(scope),
      keys.limitSlots(scope, 'concurrency.0', 't1'),
      keys.limitWindow(scope, 'rateLimit', ''),
      keys.limitLine(scope, 'concurrency.0', 't1'),
      keys.limitRing(scope),
      keys.limitSeq(scope),
      keys.limitSingletons(scope),
      keys.limitSingletonOf(scope),
      keys.limitSeen(scope),
      keys.limitLimits(scope),
      keys.limitDebounce(scope, 'u1'),
    ]
    expect((await raw.keys(`${prefix}:*`)).sort()).toEqual([...expected].sort())
    for (const k of expected) expect(k.startsWith(`${prefix}:{lim:sync/step}:`)).toBe(true)
    expect(await raw.lrange(keys.limitRing(scope), 0, -1)).toEqual(['concurrency.0:t1'])
    expect(await raw.hget(keys.limitSingletons(scope), 'u1')).toBe('a~step')
    // a debounce window its run never settles expires a minute after it came due, a rate window a
    // period after its last admission; nothing else expires
    const ttl = await raw.pttl(keys.limitDebounce(scope, 'u1'))
    expect(ttl).toBeGreaterThan(119_000)
    expect(ttl).toBeLessThanOrEqual(120_000)
    const window = await raw.pttl(keys.limitWindow(scope, 'rateLimit', ''))
    expect(window).toBeGreaterThan(59_000)
    expect(window).toBeLessThanOrEqual(60_000)
    const expiring = [keys.limitDebounce(scope, 'u1'), keys.limitWindow(scope, 'rateLimit', '')]
    for (const k of expected.filter((k) => !expiring.includes(k))) expect(await raw.pttl(k)).toBe(-1)
    // released: the slots, the line and the singleton go; the admissions stay in their window (and
    // the rate key's seen entry and limit with them)
    await store.releaseLimit(scope, 'a~step')
    await store.releaseLimit(scope, 'b~step')
    await store.settleDebounce(scope, 'u1', 'a~step')
    expect((await raw.keys(`${prefix}:*`)).sort()).toEqual(
      [
        keys.limitWindow(scope, 'rateLimit', ''),
        keys.limitSeq(scope),
        keys.limitSeen(scope),
        keys.limitLimits(scope),
        keys.limitDebounce(scope, 'u1'),
      ].sort(),
    )
  } finally {
    await store.close()
  }
})

it('a holder whose leased slot ran out (its worker died) leaves no held entry once the slot is looked at again', async () => {
  const prefix = uniqueName('l')
  const store = createRedisStreamStore({ url: redis.url, prefix, connectionName: prefix })
  try {
    const scope = 'sync/work'
    const c = { id: 'concurrency', kind: 'concurrency', key: '', limit: 1 } as const
    expect((await store.acquireLimit(scope, { holder: 'dead~work.1', needs: [c], leaseMs: 50 })).state).toBe('admitted')
    await new Promise((r) => setTimeout(r, 120))
    // the next acquire finds the lease out: admitted, and the dead holder's entry is gone with its slot
    expect((await store.acquireLimit(scope, { holder: 'next~work.2', needs: [c], leaseMs: 60_000 })).state).toBe('admitted')
    expect(await redis.client.hkeys(store.keys.limitHeld(scope))).toEqual(['next~work.2'])
    await store.releaseLimit(scope, 'next~work.2')
    expect(await redis.client.exists(store.keys.limitHeld(scope))).toBe(0)
  } finally {
    await store.close()
  }
})

it('keys used once leave nothing behind: a concurrency key no one holds or waits on is forgotten, a rate window expires a period after its last admission', async () => {
  const prefix = uniqueName('l')
  const store = createRedisStreamStore({ url: redis.url, prefix, connectionName: prefix })
  const raw = redis.client
  try {
    const { keys } = store
    const scope = 'sync/tenant'
    const conc = (key: string) => ({ id: 'concurrency.0', kind: 'concurrency', key, limit: 1 }) as const
    // 200 tenants, each held once and released
    for (let i = 0; i < 200; i++) {
      expect((await store.acquireLimit(scope, { holder: `r${i}~s`, needs: [conc(`t${i}`)] })).state).toBe('admitted')
      await store.releaseLimit(scope, `r${i}~s`)
    }
    expect(await raw.hlen(keys.limitSeen(scope))).toBe(0)
    // one waits in a tenant's line and leaves it: forgotten too once the holder is done
    await store.acquireLimit(scope, { holder: 'h~s', needs: [conc('busy')] })
    expect((await store.acquireLimit(scope, { holder: 'w~s', needs: [conc('busy')] })).state).toBe('queued')
    await store.releaseLimit(scope, 'w~s')
    expect(await raw.hkeys(keys.limitSeen(scope))).toEqual(['concurrency.0:busy'])
    await store.releaseLimit(scope, 'h~s')
    expect(await raw.hlen(keys.limitSeen(scope))).toBe(0)
    // a rate window of 300 ms: gone 300 ms after its last admission (its usage entry at the next usage call)
    const rate = { id: 'rateLimit', kind: 'rate', key: 'u9', limit: 5, periodMs: 300 } as const
    await store.acquireLimit(scope, { holder: 'q~s', needs: [rate] })
    await store.releaseLimit(scope, 'q~s')
    const ttl = await raw.pttl(keys.limitWindow(scope, 'rateLimit', 'u9'))
    expect(ttl).toBeGreaterThan(0)
    expect(ttl).toBeLessThanOrEqual(300)
    await new Promise((r) => setTimeout(r, 400))
    expect(await raw.exists(keys.limitWindow(scope, 'rateLimit', 'u9'))).toBe(0)
    expect(await store.limitUsage(scope)).toEqual([])
    expect((await raw.keys(`${prefix}:*`)).filter((k) => !k.endsWith(':seq'))).toEqual([])
  } finally {
    await store.close()
  }
})

it('keyed rate limits do not pile up: the usage entries of windows that expired go at later admissions, with no limitUsage call', async () => {
  const prefix = uniqueName('l')
  const store = createRedisStreamStore({ url: redis.url, prefix, connectionName: prefix })
  const raw = redis.client
  try {
    const { keys } = store
    const scope = 'sync/user'
    const rate = (key: string) => ({ id: 'rateLimit', kind: 'rate', key, limit: 5, periodMs: 200 }) as const
    // 600 users, each admitted once (a key per user), in a service that never lists its limits
    const admit = async (from: number) => {
      for (let i = from; i < from + 300; i++) {
        expect((await store.acquireLimit(scope, { holder: `r${i}~s`, needs: [rate(`u${i}`)] })).state).toBe('admitted')
        await store.releaseLimit(scope, `r${i}~s`)
      }
    }
    await admit(0)
    await new Promise((r) => setTimeout(r, 300)) // every window so far expired
    await admit(300)
    await new Promise((r) => setTimeout(r, 300))
    await admit(600)
    // what is left: about the last period's keys, not all 900
    const seen = await raw.hlen(keys.limitSeen(scope))
    expect(seen, `${seen} usage entries left of 900 keys`).toBeLessThan(450)
    expect(await raw.hlen(keys.limitLimits(scope))).toBeLessThanOrEqual(seen)
    // the sweep's cursor, when a pass is under way, goes by itself
    const cursor = await raw.pttl(keys.limitSweep(scope))
    expect(cursor === -2 || (cursor > 0 && cursor <= 60_000), `the cursor's expiry: ${cursor}`).toBe(true)
    // what is listed is unchanged: the keys whose window still counts
    const usage = await store.limitUsage(scope)
    expect(usage.every((u) => u.kind === 'rate' && u.active === 1)).toBe(true)
  } finally {
    await store.close()
  }
})
