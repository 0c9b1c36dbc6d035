// Black-box checks of @leanflow/redis (and @leanflow/bullmq) against DESIGN.md, on a real redis-server.
import { createBullMQQueue } from '@leanflow/bullmq'
import { EventBus, type EventRecord, isEventId, type NewEvent } from '@leanflow/core'
import { createRedisStreamStore, type RedisStreamStore } from '@leanflow/redis'
import { createRunner, defineFlow } from '@leanflow/runner'
import { afterAll, describe, expect, it } from 'vitest'
import { useRedisServer } from '../helpers/redisServer.js'

const redis = useRedisServer({ client: true })
const stores: RedisStreamStore[] = []
let n = 0
const open = (opts: Parameters<typeof createRedisStreamStore>[0] = {}) => {
  const store = createRedisStreamStore({ url: redis.url, ...opts })
  stores.push(store)
  return store
}
const runId = () => `run${++n}`
const ev = (flow: string, kind = 'note', data: unknown = { n: 1 }): NewEvent => ({ kind, flow, data })

afterAll(async () => {
  for (const s of stores) await s.close()
})

describe('createRedisStreamStore: append and read', () => {
  it('assigns "<ms>-<seq>" ids and ISO ts; keys are lf:{<runId>}:events with the default prefix', async () => {
    const store = open()
    const id = runId()
    const rec = await store.append(id, ev(id, 'note', { a: 'x' }))
    expect(isEventId(rec.id)).toBe(true)
    expect(new Date(rec.ts).toISOString()).toBe(rec.ts)
    expect(rec).toMatchObject({ kind: 'note', flow: id, data: { a: 'x' } })
    expect('step' in rec).toBe(false)
    expect(await redis.client.xlen(`lf:{${id}}:events`)).toBe(1)
    expect(await store.read(id)).toEqual([rec])
  })

  it('an idempotencyKey repeat returns the first record and stores nothing', async () => {
    const store = open()
    const id = runId()
    const a = await store.append(id, ev(id), { idempotencyKey: 'k' })
    const b = await store.append(id, ev(id, 'note', { n: 2 }), { idempotencyKey: 'k' })
    expect(b).toEqual(a)
    expect(await store.read(id)).toHaveLength(1)
  })

  it('maxEventBytes → PayloadTooLargeError, maxEventsPerRun → RUN_TOO_LONG, hostile names → INVALID_NAME; nothing written', async () => {
    const store = open({ maxEventBytes: 2000, maxEventsPerRun: 2 })
    const id = runId()
    await expect(store.append(id, ev(id, 'note', 'x'.repeat(5000)))).rejects.toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
      name: 'PayloadTooLargeError',
    })
    await expect(store.append(id, ev(id, 'a:b'))).rejects.toMatchObject({ code: 'INVALID_NAME' })
    await expect(store.append('x{y}', ev('x{y}'))).rejects.toMatchObject({ code: 'INVALID_NAME' })
    expect(await store.read(id)).toEqual([])
    await store.append(id, ev(id))
    await store.append(id, ev(id))
    await expect(store.append(id, ev(id))).rejects.toMatchObject({ code: 'RUN_TOO_LONG' })
    expect(await store.read(id)).toHaveLength(2)
  })

  it('read: limit, direction, exclusive after/before; malformed entries skipped and counted', async () => {
    const corrupt: unknown[] = []
    const store = open({ onCorrupt: (info) => void corrupt.push(info) })
    const id = runId()
    const recs: EventRecord[] = []
    for (let i = 0; i < 5; i++) recs.push(await store.append(id, ev(id, 'note', { i })))
    await redis.client.xadd(`lf:{${id}}:events`, '*', 'garbage', '{not json')
    recs.push(await store.append(id, ev(id, 'note', { i: 5 })))
    expect(await store.read(id)).toEqual(recs)
    expect(corrupt.length).toBeGreaterThan(0)
    expect(await store.read(id, { limit: 2 })).toEqual(recs.slice(0, 2))
    expect(await store.read(id, { direction: 'backward', limit: 2 })).toEqual([recs[5], recs[4]])
    expect(await store.read(id, { after: recs[1]?.id, before: recs[4]?.id })).toEqual(recs.slice(2, 4))
  })
})

describe('follow, run index, retention, bus', () => {
  it('follow yields backfill then live events in id order and returns on abort', async () => {
    const store = open()
    const id = runId()
    const first = await store.append(id, ev(id, 'note', { i: 0 }))
    const ac = new AbortController()
    const got: EventRecord[] = []
    const done = (async () => {
      for await (const e of store.follow(id, { signal: ac.signal })) {
        got.push(e)
        if (got.length === 20) ac.abort()
      }
    })()
    const live: EventRecord[] = []
    for (let i = 1; i < 20; i++) live.push(await store.append(id, ev(id, 'note', { i })))
    await done
    expect(got).toEqual([first, ...live])
    // from a position: the next event, once (collected, so a follow that yields nothing fails)
    const tail: EventRecord[] = []
    for await (const e of store.follow(id, { after: live[17]?.id, signal: AbortSignal.timeout(2000) })) {
      tail.push(e)
      break
    }
    expect(tail).toEqual([live[18]])
  })

  it('listRuns newest first with before/status; listFlows counts runs; retention expires finished runs', async () => {
    const store = open({ prefix: 'idx', retention: '1h' })
    const ids = [runId(), runId(), runId()]
    for (const id of ids) {
      await store.append(id, ev(id, 'flow.started', { name: 'shop', input: {}, steps: {} }))
      await new Promise((r) => setTimeout(r, 3))
    }
    await store.append(ids[0] as string, ev(ids[0] as string, 'flow.completed', { duration: 1 }))
    const runs = await store.listRuns('shop')
    expect(runs.map((r) => r.runId)).toEqual([...ids].reverse())
    expect(runs[0]).toMatchObject({ runId: ids[2], flow: 'shop', status: 'running', startedAt: expect.anything() })
    const completed = await store.listRuns('shop', { status: 'completed' })
    expect(completed.map((r) => r.runId)).toEqual([ids[0]])
    expect(completed[0]?.completedAt).toBeDefined()
    const older = await store.listRuns('shop', { before: Date.parse(String(runs[0]?.startedAt)) || Number(runs[0]?.startedAt) })
    expect(older.map((r) => r.runId)).toEqual([ids[1], ids[0]])
    expect(await store.listFlows()).toEqual([{ flow: 'shop', runs: 3 }])
    const ttl = await redis.client.pttl(`idx:{${ids[0]}}:events`)
    expect(ttl).toBeGreaterThan(0)
    expect(ttl).toBeLessThanOrEqual(60 * 60 * 1000)
    expect(await redis.client.pttl(`idx:{${ids[1]}}:events`)).toBe(-1)
  })

  it('follow after a position whose run expired throws HISTORY_GONE', async () => {
    const store = open({ prefix: 'gone', retention: '150ms' })
    const id = runId()
    const a = await store.append(id, ev(id, 'flow.started', { name: 'x', input: {}, steps: {} }))
    await store.append(id, ev(id, 'flow.completed', { duration: 1 }))
    for (let i = 0; i < 100 && (await redis.client.exists(`gone:{${id}}:events`)); i++) await new Promise((r) => setTimeout(r, 20))
    const it = store.follow(id, { after: a.id, signal: AbortSignal.timeout(2000) })[Symbol.asyncIterator]()
    await expect(it.next()).rejects.toMatchObject({ code: 'HISTORY_GONE' })
  })

  it('with a bus, every appended record is published with its id', async () => {
    const bus = new EventBus()
    const seen: unknown[] = []
    bus.onKind('note', (e) => void seen.push(e))
    const store = open({ bus, prefix: 'bus' })
    const id = runId()
    const rec = await store.append(id, ev(id))
    for (let i = 0; i < 50 && seen.length === 0; i++) await new Promise((r) => setTimeout(r, 5))
    expect(seen).toEqual([rec])
  })
})

describe('the Redis store implements both ports; createBullMQQueue options', () => {
  const flow = defineFlow({
    name: 'order',
    steps: {
      charge: { handler: async (input) => (input as { amount: number }).amount },
      approve: {
        needs: ['charge'],
        handler: async (_i, ctx) => {
          const t = await ctx.await.trigger({ type: 'webhook', timeout: '30s' })
          return { charged: ctx.results.charge, answer: await t.wait() }
        },
      },
    },
  })

  async function runToEnd(store: RedisStreamStore, queue?: ReturnType<typeof createBullMQQueue>) {
    const runner = createRunner({ store, flows: [flow], ...(queue ? { queue } : {}) })
    await runner.start()
    const { runId: id } = await runner.startFlow('order', { amount: 5 })
    const ac = new AbortController()
    const timer = setTimeout(() => ac.abort(), 20_000)
    const kinds: string[] = []
    for await (const e of store.follow(id, { signal: ac.signal })) {
      kinds.push(e.kind)
      if (e.kind === 'step.await.trigger') {
        expect(await runner.resolveTrigger((e.data as { triggerId: string }).triggerId, 'yes')).toEqual({ runId: id, step: 'approve' })
      }
      if (e.kind.startsWith('flow.') && e.kind !== 'flow.started') {
        expect(e).toMatchObject({ kind: 'flow.completed', data: { result: { approve: { charged: 5, answer: 'yes' } } } })
        break
      }
    }
    clearTimeout(timer)
    await runner.stop()
    return kinds
  }

  it('createRunner({ store }) needs nothing else', async () => {
    const kinds = await runToEnd(open({ prefix: 'ports' }))
    expect(kinds[0]).toBe('flow.started')
    expect(kinds.at(-1)).toBe('flow.completed')
  })

  it('createBullMQQueue({ url, prefix, queueName, lockDuration, stalledInterval }) runs the same flow', async () => {
    const queue = createBullMQQueue({ url: redis.url, prefix: 'bq', queueName: 'contract', lockDuration: 5000, stalledInterval: 5000 })
    try {
      const kinds = await runToEnd(open({ prefix: 'withbull' }), queue)
      expect(kinds.at(-1)).toBe('flow.completed')
      expect((await redis.client.keys('bq:contract:*')).length).toBeGreaterThan(0)
    } finally {
      await queue.close()
    }
  })
})
