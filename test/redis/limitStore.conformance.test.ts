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
      keys.limitDebounce(scope, 'u1'),
    ]
    expect((await raw.keys(`${prefix}:*`)).sort()).toEqual([...expected].sort())
    for (const k of expected) expect(k.startsWith(`${prefix}:{lim:sync/step}:`)).toBe(true)
    expect(await raw.lrange(keys.limitRing(scope), 0, -1)).toEqual(['concurrency.0:t1'])
    expect(await raw.hget(keys.limitSingletons(scope), 'u1')).toBe('a~step')
    // a debounce window its run never settles expires a minute after it came due; nothing else expires
    const ttl = await raw.pttl(keys.limitDebounce(scope, 'u1'))
    expect(ttl).toBeGreaterThan(119_000)
    expect(ttl).toBeLessThanOrEqual(120_000)
    for (const k of expected.filter((k) => k !== keys.limitDebounce(scope, 'u1'))) expect(await raw.pttl(k)).toBe(-1)
    // released: the slots, the line and the singleton go; the admissions stay in their window
    await store.releaseLimit(scope, 'a~step')
    await store.releaseLimit(scope, 'b~step')
    await store.settleDebounce(scope, 'u1', 'a~step')
    expect((await raw.keys(`${prefix}:*`)).sort()).toEqual(
      [keys.limitWindow(scope, 'rateLimit', ''), keys.limitSeq(scope), keys.limitSeen(scope), keys.limitDebounce(scope, 'u1')].sort(),
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
