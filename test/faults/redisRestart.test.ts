// F5: redis-server SIGKILLed and restarted (AOF) mid-run.
import type { EventRecord } from '@leanflow/core'
import { createRedisStreamStore, type RedisStreamStore } from '@leanflow/redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { useRedisServer } from '../helpers/redisServer.js'

const server = useRedisServer({ appendonly: true })
let store: RedisStreamStore

beforeAll(async () => {
  store = createRedisStreamStore({ url: server.url, prefix: 'f5' })
})
afterAll(async () => {
  await store.close()
})

describe('F5: redis-server killed and restarted', () => {
  it('appends resume, nothing acknowledged is lost, and followers catch up', async () => {
    const runs = ['a', 'b', 'c']
    const N = 40
    const followers = runs.map(async (r) => {
      const out: EventRecord[] = []
      for await (const e of store.follow(r)) if (out.push(e) === N) break
      return out
    })
    const append = (r: string, i: number) => store.append(r, { kind: 'tick', flow: r, data: { i } }, { idempotencyKey: `${r}:${i}` })
    for (let i = 0; i < 15; i++) await Promise.all(runs.map((r) => append(r, i)))
    const acknowledged = await Promise.all(runs.map((r) => store.read(r)))
    await server.kill()
    // appends issued while the server is down wait in ioredis's offline queue
    const during = runs.map(async (r) => {
      for (let i = 15; i < N; i++) await append(r, i)
    })
    await new Promise((r) => setTimeout(r, 300))
    await server.restart()
    await Promise.all(during)
    const logs = await Promise.all(runs.map((r) => store.read(r)))
    logs.forEach((log, k) => {
      expect(log.slice(0, 15)).toEqual(acknowledged[k])
      expect(log.map((e) => (e.data as { i: number }).i)).toEqual(Array.from({ length: N }, (_, i) => i))
    })
    expect(await Promise.all(followers)).toEqual(logs)
  })
})
