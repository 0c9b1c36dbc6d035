// F22: Redis unreachable for 15 s (the redis-server process SIGSTOPped: connections stay open,
// nothing answers, the worst case for a client). Calls made meanwhile fail with a typed
// STORE_UNAVAILABLE (the driver's error as cause) within a bounded time, never hang; once Redis
// answers again (SIGCONT), a runner started before completes its runs and the calls retried
// with their idempotency keys succeed, without help; a `follow` and an SSE stream (node:http,
// a real EventSource) opened before get every event of their run, in order, once.
import { createHandler } from '@leanflow/http'
import { createRedisStreamStore, type RedisStreamStore } from '@leanflow/redis'
import { createRunner, defineFlow, type Runner } from '@leanflow/runner'
import { EventSource } from 'eventsource'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { waitForEvent } from '../fixtures/runnerKit.js'
import { type RunningServer, recordSse, startServer } from '../helpers/httpMatrix.js'
import { useRedisServer } from '../helpers/redisServer.js'
import { waitFor } from '../helpers/waitFor.js'
import { checkRunLog, waitForRuns } from '../workers/checkRunLog.js'

const OUTAGE_MS = 15_000
/** Generous for a noisy 2-core machine: the store's default commandTimeout is 5 s. */
const BOUND_MS = 10_000
const retry = { attempts: 5, backoff: { type: 'fixed' as const, delayMs: 20 } }
const flow = defineFlow<{ waitMs: number }>({
  name: 'outage',
  steps: {
    a: { retry, handler: async () => ({ a: 1 }) },
    b: {
      needs: ['a'],
      retry,
      handler: async (input, ctx) => {
        await ctx.await.time(input.waitMs) // due during the outage
        ctx.logger.info('b resumed')
        return { b: 1 }
      },
    },
    c: { needs: ['a'], retry, handler: async (_input, ctx) => ctx.do('effect', async () => ({ c: 1 })) },
    d: { needs: ['b', 'c'], retry, handler: async () => ({ d: 1 }) },
  },
})

const redis = useRedisServer()
let store: RedisStreamStore
let runner: Runner
let http: RunningServer

beforeAll(async () => {
  store = createRedisStreamStore({ url: redis.url, prefix: 'f22' })
  runner = createRunner({ store, flows: [flow], concurrency: 8, cancelPollMs: 200, onError: () => {} })
  await runner.start()
  http = await startServer('node', createHandler({ store, runner, retryMs: 200 }))
})
afterAll(async () => {
  redis.thaw()
  await http?.stop()
  await runner?.stop()
  await store?.close()
})

/** How a call made during the outage ended, and after how long (`'hung'` past BOUND_MS). */
async function during(call: () => Promise<unknown>): Promise<{ ms: number; err: unknown }> {
  const t0 = Date.now()
  let timer: ReturnType<typeof setTimeout> | undefined
  const hung = new Promise<string>((r) => {
    timer = setTimeout(() => r(`hung for ${BOUND_MS} ms`), BOUND_MS)
  })
  const err = await Promise.race([
    call().then(
      () => 'resolved',
      (e: unknown) => e,
    ),
    hung,
  ])
  clearTimeout(timer)
  return { ms: Date.now() - t0, err }
}

describe('F22: Redis unreachable for 15 s', () => {
  it('calls fail with STORE_UNAVAILABLE in bounded time; runners, follow and SSE recover alone', async () => {
    const before = Array.from({ length: 8 }, (_, i) => `before${i}`)
    for (const runId of before) await runner.startFlow('outage', { waitMs: 2000 }, { runId, idempotencyKey: runId })
    await Promise.all(before.map((runId) => waitForEvent(store, runId, (e) => e.kind === 'step.await.time')))

    // a follow and an SSE stream of one run, open across the outage
    const watched = before[0]!
    const followed = (async () => {
      const ids: string[] = []
      for await (const e of store.follow(watched)) {
        ids.push(e.id)
        if (e.kind === 'flow.completed') return ids
      }
      return ids
    })()
    const es = new EventSource(`${http.origin}/flows/runs/${watched}/stream`)
    const seen = recordSse(es)
    await new Promise((r) => setTimeout(r, 200)) // both are live (nothing is appended meanwhile)

    redis.freeze()
    const outageEnds = Date.now() + OUTAGE_MS
    try {
      const calls = await Promise.all([
        during(() => runner.startFlow('outage', { waitMs: 100 }, { runId: 'during0', idempotencyKey: 'during0' })),
        during(() => runner.startFlow('outage', { waitMs: 100 }, { runId: 'during1' })),
        during(() => runner.publishEvent({ kind: 'payment.confirmed', data: { n: 1 } }, { idempotencyKey: 'pay1' })),
        during(() => store.append('side', { kind: 'side.note', flow: 'side', data: { n: 1 } }, { idempotencyKey: 'n1' })),
        during(() => store.read(watched)),
        during(async () => {
          for await (const _ of store.follow('side')) break
        }),
      ])
      for (const [i, { ms, err }] of calls.entries()) {
        expect(err, `call ${i}`).toMatchObject({ code: 'STORE_UNAVAILABLE', status: 503 })
        expect((err as Error).cause, `call ${i} keeps the driver's error`).toBeInstanceOf(Error)
        expect(ms, `call ${i} failed after ${ms} ms`).toBeLessThan(BOUND_MS)
      }
      // over HTTP: 503 with the code, in bounded time too
      const res = await during(async () => {
        const r = await fetch(`${http.origin}/flows/outage/runs`, {
          method: 'POST',
          body: JSON.stringify({ waitMs: 100 }),
          headers: { 'content-type': 'application/json', 'idempotency-key': 'during2' },
        })
        throw { status: r.status, ...((await r.json()) as { error: { code: string } }).error }
      })
      expect(res.err).toMatchObject({ status: 503, code: 'STORE_UNAVAILABLE' })
      expect(res.ms).toBeLessThan(BOUND_MS)
      await new Promise((r) => setTimeout(r, Math.max(0, outageEnds - Date.now())))
    } finally {
      redis.thaw()
    }

    // Redis is back: the refused calls succeed when retried with the same keys; every run completes
    await runner.startFlow('outage', { waitMs: 100 }, { runId: 'during0', idempotencyKey: 'during0' })
    await runner.startFlow('outage', { waitMs: 100 }, { runId: 'during1' })
    const viaHttp = await fetch(`${http.origin}/flows/outage/runs`, {
      method: 'POST',
      body: JSON.stringify({ waitMs: 100 }),
      headers: { 'content-type': 'application/json', 'idempotency-key': 'during2' },
    })
    expect(viaHttp.status).toBe(201)
    const { runId: during2 } = (await viaHttp.json()) as { runId: string }
    await runner.publishEvent({ kind: 'payment.confirmed', data: { n: 1 } }, { idempotencyKey: 'pay1' })
    await store.append('side', { kind: 'side.note', flow: 'side', data: { n: 1 } }, { idempotencyKey: 'n1' })
    expect((await store.read('side')).map((e) => e.kind)).toEqual(['side.note'])

    const all = [...before, 'during0', 'during1', during2]
    const logs = await waitForRuns(store, all, 30_000)
    expect([...logs.values()].flatMap((log) => checkRunLog(log))).toEqual([])
    const log = (logs.get(watched) ?? []).map((e) => e.id)
    expect(await followed).toEqual(log)
    await waitFor(() => seen.ended, 'the SSE stream to end').finally(() => es.close())
    expect(seen.ids).toEqual(log)
  }, 60_000)
})
