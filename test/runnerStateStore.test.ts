import { createMemoryRunStateStore, createMemoryStreamStore } from '@leanflow/core'
import { createRedisStreamStore } from '@leanflow/redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runStateConformance } from './conformance/runStateConformance.js'
import { type RedisServer, startRedis } from './helpers/redisServer.js'

let server: RedisServer
let n = 0
beforeAll(async () => {
  server = await startRedis()
})
afterAll(async () => {
  await server?.stop()
})

runStateConformance('memory', async () => {
  const store = createMemoryStreamStore()
  return { store, cleanup: () => store.close() }
})

runStateConformance('Redis', async () => {
  const store = createRedisStreamStore({ url: server.url, prefix: `rs${++n}` })
  return { store, cleanup: () => store.close() }
})

describe('run state retention', () => {
  it('memory: a finished run document expires after the retention, by the store clock', async () => {
    let now = 1_000_000
    const s = createMemoryRunStateStore({ now: () => now, retention: 1000 })
    await s.casRunState('r', 0, { status: 'running' })
    await s.casRunState('r', 1, { status: 'completed' }, { finished: true })
    now += 999
    expect(await s.getRunState('r')).not.toBeNull()
    now += 2
    expect(await s.getRunState('r')).toBeNull()
  })

  it('Redis: a finished run document gets the retention as its TTL', async () => {
    const store = createRedisStreamStore({ url: server.url, prefix: `rs${++n}`, retention: 60_000 })
    try {
      await store.casRunState('r', 0, { status: 'running' })
      expect(await store.redis.pttl(`rs${n}:{r}:state`)).toBe(-1)
      await store.casRunState('r', 1, { status: 'completed' }, { finished: true })
      const ttl = await store.redis.pttl(`rs${n}:{r}:state`)
      expect(ttl).toBeGreaterThan(50_000)
      expect(ttl).toBeLessThanOrEqual(60_000)
    } finally {
      await store.close()
    }
  })
})
