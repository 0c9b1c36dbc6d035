// A follow started while Redis cannot be reached fails with STORE_UNAVAILABLE within the store's
// commandTimeout, as a read does (FAULTS.md F22: typed errors within a bounded time, no hang;
// docs/operations.md: "one that has to read during the outage fails with STORE_UNAVAILABLE").
// Before, it waited for the subscriber connection with no bound: minutes, or for ever.
import { isLeanflowError } from '@leanflow/core'
import { createRedisStreamStore } from '@leanflow/redis'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { freePort, type RedisServer, startRedis } from '../helpers/redisServer.js'

let server: RedisServer
beforeAll(async () => {
  server = await startRedis()
})
afterAll(() => server.stop())

/** The first `next()` of a follow of `runId`: how it settled, and after how long. */
async function firstNext(store: ReturnType<typeof createRedisStreamStore>, runId: string) {
  const t0 = Date.now()
  const it = store.follow(runId)[Symbol.asyncIterator]()
  const settled = await Promise.race([
    it.next().then(
      (r) => ({ ok: r as unknown }),
      (err: unknown) => ({ err }),
    ),
    new Promise<{ hung: true }>((r) => setTimeout(() => r({ hung: true }), 20_000)),
  ])
  await it.return?.()
  return { settled, ms: Date.now() - t0 }
}

it('a follow started with no Redis listening fails with STORE_UNAVAILABLE soon after commandTimeout', async () => {
  const store = createRedisStreamStore({ url: `redis://127.0.0.1:${await freePort()}`, commandTimeout: '500ms' })
  try {
    const { settled, ms } = await firstNext(store, 'r-cold')
    expect(settled).toHaveProperty('err')
    const err = (settled as { err: Error }).err
    expect(isLeanflowError(err, 'STORE_UNAVAILABLE')).toBe(true)
    expect(err.message).toMatch(/follow\("r-cold"\).*commandTimeout is 500 ms.*after/)
    expect(err.cause).toBeInstanceOf(Error)
    expect(ms).toBeLessThan(15_000) // bounded (1.5 s here, however loaded the machine)
  } finally {
    await store.close()
  }
})

it('a follow started after Redis went away fails the same way; once Redis is back a new follow gets the events', async () => {
  const store = createRedisStreamStore({ url: server.url, prefix: 'fu', commandTimeout: '500ms' })
  try {
    await store.append('r-warm', { kind: 'a', flow: 'f', data: 1 })
    await server.kill()
    const { settled } = await firstNext(store, 'r-warm')
    expect(settled).toHaveProperty('err')
    expect(isLeanflowError((settled as { err: unknown }).err, 'STORE_UNAVAILABLE')).toBe(true)
    await server.restart()
    // the restarted server kept nothing (no AOF): a new follow waits for the run's first event
    await expect
      .poll(
        () =>
          store.read('r-warm').then(
            () => true,
            () => false,
          ),
        { timeout: 15_000 },
      )
      .toBe(true)
    const it = store.follow('r-warm')[Symbol.asyncIterator]()
    const next = Promise.race([it.next(), new Promise((r) => setTimeout(() => r('none'), 10_000))])
    const appended = await store.append('r-warm', { kind: 'b', flow: 'f', data: 2 })
    expect(await next).toMatchObject({ done: false, value: { id: appended.id, kind: 'b' } })
    await it.return?.()
  } finally {
    await store.close()
  }
})

it("on a client of the app's, the client's own commandTimeout bounds the wait", async () => {
  const redis = new Redis(await freePort(), '127.0.0.1', { commandTimeout: 400, lazyConnect: true })
  redis.on('error', () => {})
  const store = createRedisStreamStore({ redis, prefix: 'fu2' })
  try {
    const { settled } = await firstNext(store, 'r-own')
    expect(settled).toHaveProperty('err')
    const err = (settled as { err: Error }).err
    expect(isLeanflowError(err, 'STORE_UNAVAILABLE')).toBe(true)
    expect(err.message).toMatch(/commandTimeout is 400 ms/)
  } finally {
    await store.close()
    redis.disconnect()
  }
})
