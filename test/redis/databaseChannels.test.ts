// Two stores with the same prefix in two databases of one Redis (two apps, or staging and prod,
// separated by database index) keep their live events apart. Redis Pub/Sub ignores the selected
// database, and a store's run channel was `<prefix>:{<runId>}:live` in every database: a follow
// of run "order-42" in database 0 yielded the records database 1's "order-42" announced (another
// tenant's data, and runner.result answered with its result), and, having taken their ids, it
// then skipped its own run's events with lower ids (a gap; a flow.completed skipped hung the
// result). A store in database N > 0 now rings on `…:live@N`. Real redis-server, real clients.
import type { EventRecord, NewEvent } from '@leanflow/core'
import { createRedisStreamStore, type RedisStreamStore } from '@leanflow/redis'
import { createRunner, defineFlow } from '@leanflow/runner'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { useRedisServer } from '../helpers/redisServer.js'

const redis = useRedisServer()
const note = (runId: string, app: string, i = 0): NewEvent => ({ kind: 'note.added', flow: runId, data: { app, i } })
const stores: RedisStreamStore[] = []
const clients: Redis[] = []
let a: RedisStreamStore
let b: RedisStreamStore
beforeAll(() => {
  a = createRedisStreamStore({ url: `${redis.url}/0`, prefix: 'same' })
  b = createRedisStreamStore({ url: `${redis.url}/1`, prefix: 'same' })
  stores.push(a, b)
})
afterAll(async () => {
  for (const s of stores) await s.close()
  for (const c of clients) c.disconnect()
})

/** The first `n` records a follow of `runId` on `store` yields, or what it had after `ms`. */
async function firstRecords(store: RedisStreamStore, runId: string, n: number, ms: number, ready: () => Promise<void>) {
  const seen: EventRecord[] = []
  const ctl = new AbortController()
  const timer = setTimeout(() => ctl.abort(), ms)
  const done = (async () => {
    for await (const e of store.follow(runId, { signal: ctl.signal })) {
      seen.push(e)
      if (seen.length >= n) break
    }
  })().catch(() => {})
  await new Promise((r) => setTimeout(r, 150)) // the follow is subscribed
  await ready()
  await done
  clearTimeout(timer)
  return seen
}

it("a follow in database 0 sees its own run's events only, not database 1's run of the same id", async () => {
  await a.append('order-42', note('order-42', 'A', 0))
  const seen = await firstRecords(a, 'order-42', 3, 1500, async () => {
    for (let i = 0; i < 3; i++) await b.append('order-42', note('order-42', 'B', i))
    await a.append('order-42', note('order-42', 'A', 1))
  })
  expect(seen.map((e) => (e.data as { app: string }).app)).toEqual(['A', 'A'])
  expect(seen.map((e) => e.id)).toEqual((await a.read('order-42')).map((e) => e.id))
})

it("database 1's burst with higher ids does not make database 0's follower skip its own event (no gap)", async () => {
  for (let round = 0; round < 5; round++) {
    const runId = `gap-${round}`
    await a.append(runId, note(runId, 'A', 0))
    const seen = await firstRecords(a, runId, 2, 3000, async () => {
      await Promise.all([
        b.appendMany!(
          runId,
          Array.from({ length: 50 }, (_, i) => ({ event: note(runId, 'B', i) })),
        ),
        a.append(runId, note(runId, 'A', 1)),
      ])
    })
    expect(
      seen.map((e) => (e.data as { app: string; i: number }).app + (e.data as { i: number }).i),
      runId,
    ).toEqual(['A0', 'A1'])
  }
})

it("runner.result in database 0 answers its own run's outcome, not database 1's run of the same id", async () => {
  const wait = defineFlow({ name: 'wait', steps: { w: { handler: async (_: unknown, ctx) => ctx.await.time('600ms').then(() => 'A') } } })
  const quick = defineFlow({ name: 'wait', steps: { w: { handler: async () => 'B' } } })
  const ra = createRunner({ store: a, flows: [wait], onError: () => {} })
  const rb = createRunner({ store: b, flows: [quick], onError: () => {} })
  await ra.start()
  await rb.start()
  try {
    await ra.startFlow('wait', {}, { runId: 'same-run' })
    const result = ra.result('same-run', { timeout: '10s' })
    await new Promise((r) => setTimeout(r, 100))
    await rb.startFlow('wait', {}, { runId: 'same-run' })
    expect(await rb.result('same-run', { timeout: '10s' })).toEqual({ w: 'B' })
    expect(await result).toEqual({ w: 'A' })
  } finally {
    await ra.stop()
    await rb.stop()
  }
})

it("a client of the app's in database 2 gets channels of its own too", async () => {
  const c2 = new Redis(`${redis.url}/2`)
  clients.push(c2)
  const mine = createRedisStreamStore({ redis: c2, prefix: 'same' })
  stores.push(mine)
  expect(mine.keys.live('r1')).toBe('same:{r1}:live@2')
  expect(a.keys.live('r1')).toBe('same:{r1}:live')
  await mine.append('c-1', note('c-1', 'C', 0))
  const seen = await firstRecords(mine, 'c-1', 2, 1500, async () => {
    await b.append('c-1', note('c-1', 'B', 0))
    await a.append('c-1', note('c-1', 'A', 0))
    await mine.append('c-1', note('c-1', 'C', 1))
  })
  expect(seen.map((e) => (e.data as { app: string }).app)).toEqual(['C', 'C'])
})

it("a client of the app's that SELECTs its database after the store is made rings and hears that database's channels", async () => {
  const url3 = createRedisStreamStore({ url: `${redis.url}/3`, prefix: 'same' })
  const c = new Redis(redis.url)
  clients.push(c)
  const selected = createRedisStreamStore({ redis: c, prefix: 'same' })
  stores.push(url3, selected)
  await c.select(3)
  expect(selected.keys.live('r1')).toBe('same:{r1}:live@3')
  await url3.append('s-1', note('s-1', 'D3', 0))
  // the url store on database 3 hears the SELECTed client's appends, and database 0's are not heard
  const heard = await firstRecords(url3, 's-1', 3, 1500, async () => {
    await a.append('s-1', note('s-1', 'A', 0))
    await selected.append('s-1', note('s-1', 'D3', 1))
  })
  expect(heard.map((e) => `${(e.data as { app: string }).app}${(e.data as { i: number }).i}`)).toEqual(['D30', 'D31'])
  // and the other way round
  const back = await firstRecords(selected, 's-1', 4, 1500, async () => {
    await url3.append('s-1', note('s-1', 'D3', 2))
  })
  expect(back.map((e) => (e.data as { i: number }).i)).toEqual([0, 1, 2])
})
