// F21: Redis at maxmemory (noeviction) while runs start and run. Calls are refused with a typed
// STORE_FULL (the OOM reply kept as cause), no run is half-written (its state and its
// flow.started, or neither, read with raw commands), and once memory frees everything resumes:
// the refused calls succeed when retried with their idempotency keys, and every run completes
// with a sound log.
import { isLeanflowError, type LeanflowError } from '@leanflow/core'
import { createRedisStreamStore, type RedisStreamStore } from '@leanflow/redis'
import { createRunner, defineFlow, type Runner } from '@leanflow/runner'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { waitForEvent } from '../fixtures/runnerKit.js'
import { useRedisServer } from '../helpers/redisServer.js'
import { checkRunLog, waitForRuns } from '../workers/checkRunLog.js'

const pad = 'p'.repeat(512)
const retry = { attempts: 5, backoff: { type: 'fixed' as const, delayMs: 20 } }
const fill = defineFlow<{ waitMs: number }>({
  name: 'fill',
  steps: {
    a: {
      retry,
      handler: async (_input, ctx) => {
        ctx.logger.info('a ran', { pad })
        return { a: 1 }
      },
    },
    b: {
      needs: ['a'],
      retry,
      handler: async (input, ctx) => {
        await ctx.await.time(input.waitMs)
        ctx.logger.info('b ran', { pad })
        return { b: 1 }
      },
    },
    c: {
      needs: ['b'],
      retry,
      handler: async (_input, ctx) => {
        await ctx.emit('fill.done', { pad })
        return { c: 1 }
      },
    },
  },
})

const server = useRedisServer({ client: true })
let store: RedisStreamStore
let runner: Runner

beforeAll(async () => {
  store = createRedisStreamStore({ url: server.url, prefix: 'f21' })
  runner = createRunner({ store, flows: [fill], concurrency: 8, cancelPollMs: 100, onError: () => {} })
  await runner.start()
})
afterAll(async () => {
  await runner?.stop()
  await store?.close()
})

/** Settles every call; the rejections, which must all be STORE_FULL with Redis's OOM reply as cause. */
async function refusals(calls: Array<() => Promise<unknown>>): Promise<{ refused: number[]; errors: LeanflowError[] }> {
  const settled = await Promise.allSettled(calls.map((c) => c()))
  const refused: number[] = []
  const errors: LeanflowError[] = []
  settled.forEach((s, i) => {
    if (s.status === 'fulfilled') return
    refused.push(i)
    errors.push(s.reason as LeanflowError)
  })
  for (const err of errors) {
    expect(isLeanflowError(err, 'STORE_FULL'), `a typed STORE_FULL, got ${String(err)}`).toBe(true)
    expect((err.cause as Error).name).toBe('ReplyError')
    expect((err.cause as Error).message).toMatch(/^OOM command not allowed/)
  }
  return { refused, errors }
}

/** What a run has in Redis, read raw: its state document, and whether its log starts with flow.started. */
async function written(runId: string): Promise<{ state: boolean; flowStarted: boolean }> {
  const [state, first] = await Promise.all([
    server.client.exists(store.keys.state(runId)),
    server.client.xrange(store.keys.events(runId), '-', '+', 'COUNT', 1),
  ])
  const entry = first[0]?.[1]
  const json = entry?.[entry.indexOf('e') + 1]
  return { state: state === 1, flowStarted: json !== undefined && (JSON.parse(json) as { kind: string }).kind === 'flow.started' }
}

describe('F21: Redis at maxmemory (noeviction) while runs start and run', () => {
  it('refuses with STORE_FULL, writes no half run, and resumes everything once memory frees', async () => {
    // runs in flight: each is suspended on step b's timer, due while memory is full
    const early = Array.from({ length: 12 }, (_, i) => `early${i}`)
    for (const runId of early) await runner.startFlow('fill', { waitMs: 1500 }, { runId })
    await Promise.all(early.map((runId) => waitForEvent(store, runId, (e) => e.kind === 'step.await.time')))

    // fill Redis up to a maxmemory slightly above what it uses now
    const used = Number(/used_memory:(\d+)/.exec(await server.client.info('memory'))?.[1])
    await server.client.config('SET', 'maxmemory', String(used + 256 * 1024))
    const filler = 'filler'
    let firstRefusal: unknown
    for (let i = 0; i < 1000 && firstRefusal === undefined; i++) {
      await store
        .append(filler, { kind: 'fill.pad', flow: filler, data: { pad: pad.repeat(8) } }, { idempotencyKey: `pad${i}` })
        .catch((err: unknown) => {
          firstRefusal = err
        })
    }
    expect(isLeanflowError(firstRefusal, 'STORE_FULL'), `the append that hit maxmemory: ${String(firstRefusal)}`).toBe(true)

    // while full: runs start (with and without an idempotency key), events are published, appended
    const late = Array.from({ length: 24 }, (_, i) => `late${i}`)
    const start = (runId: string, i: number) => () =>
      runner.startFlow('fill', { waitMs: 50 }, i % 2 === 0 ? { runId } : { runId, idempotencyKey: runId })
    const publish = (i: number) => () => runner.publishEvent({ kind: 'payment.confirmed', data: { i, pad } }, { idempotencyKey: `pay${i}` })
    const append = (i: number) => () =>
      store.append(filler, { kind: 'fill.note', flow: filler, data: { i, pad } }, { idempotencyKey: `note${i}` })
    const starts = await refusals(late.map(start))
    const publishes = await refusals(Array.from({ length: 8 }, (_, i) => publish(i)))
    const appends = await refusals(Array.from({ length: 8 }, (_, i) => append(i)))
    expect(starts.refused.length, 'startFlow refused at maxmemory').toBeGreaterThan(late.length / 2)
    expect(publishes.refused.length, 'publishEvent refused at maxmemory').toBeGreaterThan(4)
    expect(appends.refused.length, 'append refused at maxmemory').toBeGreaterThan(4)
    expect(starts.errors.some((e) => e.message.includes('createRun'))).toBe(true) // refused by the atomic create itself

    // the early runs' timers come due while Redis is still full: their steps are refused too
    await new Promise((r) => setTimeout(r, 2000))

    // nothing half-written: every run has its state and its flow.started, or neither
    const all = [...early, ...late]
    for (const runId of all) {
      const w = await written(runId)
      expect(w.state, `${runId}: state ${w.state}, flow.started ${w.flowStarted}`).toBe(w.flowStarted)
    }
    for (const i of starts.refused) expect(await written(late[i]!)).toEqual({ state: false, flowStarted: false })

    // memory frees: the refused calls succeed when retried with the same keys; every run completes
    await server.client.config('SET', 'maxmemory', '0')
    for (const i of starts.refused) await start(late[i]!, i)()
    for (const i of publishes.refused) await publish(i)()
    for (const i of appends.refused) await append(i)()
    const logs = await waitForRuns(store, all, 60_000)
    const problems = [...logs.values()].flatMap((log) => checkRunLog(log))
    expect(problems).toEqual([])
    for (const runId of all) expect(await written(runId)).toEqual({ state: true, flowStarted: true })
    const notes = (await store.read(filler, { limit: 10_000 })).filter((e) => e.kind === 'fill.note')
    expect(notes.map((e) => (e.data as { i: number }).i).sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7])
  }, 90_000)
})
