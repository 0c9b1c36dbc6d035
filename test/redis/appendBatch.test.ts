// Appends issued in one tick on a standalone Redis travel as one batched script call
// (packages/redis/src/internal/appendBatcher.ts): each append still atomic, idempotent and checked
// on its own, each caller with its own record or error, and the connection's order kept.
import { isLeanflowError, type NewEvent } from '@leanflow/core'
import { createRedisStreamStore, type RedisStreamStore } from '@leanflow/redis'
import { afterAll, describe, expect, it } from 'vitest'
import { useRedisServer } from '../helpers/redisServer.js'

const redis = useRedisServer({ client: true })
let n = 0
const stores: RedisStreamStore[] = []
const fresh = (opts: { maxEventsPerRun?: number } = {}) => {
  const s = createRedisStreamStore({ url: redis.url, prefix: `b${++n}`, ...opts })
  stores.push(s)
  return s
}
const log = (run: string, i: number): NewEvent => ({ kind: 'log', flow: run, data: { level: 'info', msg: `m${i}` } })

/** EVALSHA and EVAL calls Redis has served so far (INFO commandstats). */
async function scriptCalls(): Promise<number> {
  const info = await redis.client.info('commandstats')
  let calls = 0
  for (const m of info.matchAll(/^cmdstat_(?:evalsha|eval):calls=(\d+)/gm)) calls += Number(m[1])
  return calls
}

afterAll(async () => {
  await Promise.all(stores.map((s) => s.close()))
})

describe('batched appends (one tick, one connection)', () => {
  it('100 appends to 100 runs issued together: every record stored and returned, in a few script calls', async () => {
    const store = fresh()
    await store.append('warm', log('warm', 0)) // loads the scripts
    const before = await scriptCalls()
    const records = await Promise.all(Array.from({ length: 100 }, (_, i) => store.append(`run${i}`, log(`run${i}`, i))))
    const calls = (await scriptCalls()) - before
    // 100 appends in one tick: 2 batches of at most 64 (each may fall back to EVAL once after NOSCRIPT)
    expect(calls).toBeLessThanOrEqual(4)
    for (const [i, r] of records.entries()) {
      expect(r.flow).toBe(`run${i}`)
      expect((r.data as { msg: string }).msg).toBe(`m${i}`)
      const [stored] = await store.read(`run${i}`)
      expect(stored?.id).toBe(r.id)
    }
  })

  it('one refused append in a batch fails alone: the others are stored, and the refused one wrote nothing', async () => {
    const store = fresh({ maxEventsPerRun: 2 })
    await store.append('full', log('full', 0))
    await store.append('full', log('full', 1))
    const results = await Promise.allSettled([
      store.append('a', log('a', 0)),
      store.append('full', log('full', 2)), // too long
      store.append('b', log('b', 0), { after: 'never-stored' }), // its `after` key is not stored
      store.append('c', log('c', 0)),
    ])
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled'])
    expect(isLeanflowError((results[1] as PromiseRejectedResult).reason, 'RUN_TOO_LONG')).toBe(true)
    expect(isLeanflowError((results[2] as PromiseRejectedResult).reason, 'INVALID_ARGUMENT')).toBe(true)
    expect((await store.read('full')).length).toBe(2)
    expect(await store.read('b')).toEqual([])
    expect((await store.read('a')).length).toBe(1)
    expect((await store.read('c')).length).toBe(1)
  })

  it('a Redis error in one append of a batch reaches its caller as a typed error; the rest are stored', async () => {
    const store = fresh()
    // a key of the wrong type where run "broken"'s stream must be
    await redis.client.set(store.keys.events('broken'), 'not a stream')
    const results = await Promise.allSettled([
      store.append('ok1', log('ok1', 0)),
      store.append('broken', log('broken', 0)),
      store.append('ok2', log('ok2', 0)),
    ])
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
    const err = (results[1] as PromiseRejectedResult).reason
    expect(isLeanflowError(err, 'INTERNAL')).toBe(true)
    expect(String((err as { cause?: Error }).cause?.message)).toMatch(/WRONGTYPE/)
    expect((await store.read('ok1')).length).toBe(1)
    expect((await store.read('ok2')).length).toBe(1)
  })

  it('the same idempotency key twice in one batch stores one event, and both callers get it', async () => {
    const store = fresh()
    const [a, b] = await Promise.all([
      store.append('idem', log('idem', 1), { idempotencyKey: 'k' }),
      store.append('idem', log('idem', 2), { idempotencyKey: 'k' }),
    ])
    expect(b.id).toBe(a.id)
    expect((await store.read('idem')).length).toBe(1)
  })

  it('order is kept: an append `after` another issued in the same tick is stored, after it', async () => {
    const store = fresh()
    const first = store.append('chain', log('chain', 1), { idempotencyKey: 'one' })
    const second = store.append('chain', log('chain', 2), { idempotencyKey: 'two', after: 'one' })
    const [a, b] = await Promise.all([first, second])
    expect((await store.read('chain')).map((e) => e.id)).toEqual([a.id, b.id])
  })

  it('a script call issued after appends in the same tick runs after them (a run created after its events were appended)', async () => {
    const store = fresh()
    // the append goes out first, so the create finds its idempotency key taken and creates nothing
    const appended = store.append(
      'order',
      { kind: 'flow.started', flow: 'order', data: { name: 'f', input: 1, steps: {} } },
      { idempotencyKey: 'fs' },
    )
    const created = store.createRun(
      'order',
      { v: 1 },
      { kind: 'flow.started', flow: 'order', data: { name: 'f', input: 2, steps: {} } },
      { idempotencyKey: 'fs' },
    )
    const [rec, res] = await Promise.all([appended, created])
    expect(res.created).toBe(false)
    expect(res.record?.id).toBe(rec.id)
    expect((await store.read('order')).length).toBe(1)
  })
})
