/**
 * The runner on BullMQ across real processes: worker processes execute the
 * steps, this test process only produces (startFlow, publishEvent,
 * resolveTrigger) through a runner it never starts.
 */
import { createBullMQQueue } from '@leanflow/bullmq'
import type { JobQueue } from '@leanflow/core'
import { createRedisStreamStore, type RedisStreamStore } from '@leanflow/redis'
import { createRunner, defineFlow, type Runner } from '@leanflow/runner'
import { afterEach, describe, expect, it } from 'vitest'
import { useRedisServer } from '../helpers/redisServer.js'
import { waitFor } from '../helpers/waitFor.js'
import { checkRunLog, waitForRuns } from '../workers/checkRunLog.js'
import { effectKey, makeFlows } from '../workers/flows.js'
import { type ForkedWorker, forkWorker, stopWorkers } from '../workers/forkWorker.js'

/** Its client reads the effect counters the flows write (workers/flows.ts). */
const redis = useRedisServer({ args: ['--hz', '100'], client: true })
let n = 0
const children: ForkedWorker[] = []
const closers: Array<() => Promise<void>> = []

afterEach(async () => {
  await stopWorkers(children)
  for (const close of closers.splice(0)) await close()
})

/** A producer-only runner (never started) and a way to fork workers on the same queue and store. */
function setup(workerEnv: Record<string, string> = {}) {
  const id = `mp${++n}`
  const store: RedisStreamStore = createRedisStreamStore({ url: redis.url, prefix: id })
  const queue: JobQueue = createBullMQQueue({ url: redis.url, queueName: id })
  closers.push(async () => {
    await queue.close()
    await store.close()
  })
  const producer: Runner = createRunner({ store, queue, flows: makeFlows(redis.client) })
  const spawn = () => {
    const w = forkWorker('runnerWorker.ts', { REDIS_URL: redis.url, QUEUE_NAME: id, STORE_PREFIX: id, ...workerEnv })
    children.push(w)
    return w
  }
  return { id, store, producer, spawn }
}

describe('runner on BullMQ, many processes', () => {
  it('3 workers run 500 five-step runs with retries and time awaits: all complete, sound logs, each effect once', async () => {
    const { id, store, producer, spawn } = setup({ CONCURRENCY: '20' })
    const workers = [spawn(), spawn(), spawn()]
    await Promise.all(workers.map((w) => w.waitFor((m) => m.type === 'ready', 'ready')))
    const runIds: string[] = []
    for (let i = 0; i < 500; i += 50) {
      const batch = await Promise.all(
        Array.from({ length: 50 }, (_, k) =>
          producer.startFlow('five', { ns: id, failB: (i + k) % 2 === 0, sleepMs: 20 + ((i + k) % 5) * 10 }),
        ),
      )
      runIds.push(...batch.map((r) => r.runId))
    }
    const logs = await waitForRuns(store, runIds, 100_000)
    const problems = [...logs.values()].flatMap(checkRunLog)
    expect(problems.slice(0, 10)).toEqual([])
    // b's first attempt failed on every other run, and was retried.
    const retried = [...logs.values()].filter((log) => log.some((e) => e.kind === 'step.failed' && e.step === 'b')).length
    expect(retried).toBe(250)
    // Every ctx.do effect ran exactly once.
    const keys = runIds.flatMap((runId) => ['a', 'b', 'c', 'd', 'e'].map((s) => effectKey(id, runId, s)))
    const counts = await redis.client.mget(...keys)
    const wrong = keys.filter((_, i) => counts[i] !== '1').map((k, i) => `${k}=${counts[i]}`)
    expect(wrong).toEqual([])
  })

  it('awaited events and triggers are resolved from another process than the worker that registered them', async () => {
    const { store, producer, spawn } = setup()
    const [w1, w2] = [spawn(), spawn()]
    await Promise.all([w1, w2].map((w) => w.waitFor((m) => m.type === 'ready', 'ready')))
    const runs = await Promise.all(['o-1', 'o-2', 'o-3'].map((orderId) => producer.startFlow('approval', { orderId })))
    const events = async (runId: string) => store.read(runId, { limit: 1000 })
    // Every run's pay step is waiting before the events are published.
    for (const { runId } of runs) {
      await waitFor(async () => (await events(runId)).some((e) => e.kind === 'step.await.event'), `${runId} awaiting the event`, 30_000)
    }
    for (const orderId of ['o-3', 'o-1', 'o-2']) {
      await producer.publishEvent({ kind: 'payment.confirmed', data: { orderId, amount: Number(orderId.slice(2)) * 10 } })
    }
    for (const [i, { runId }] of runs.entries()) {
      let triggerId = ''
      await waitFor(
        async () => {
          const t = (await events(runId)).find((e) => e.kind === 'step.await.trigger')
          triggerId = (t?.data as { triggerId?: string } | undefined)?.triggerId ?? ''
          return triggerId !== ''
        },
        `${runId} trigger`,
        30_000,
      )
      expect(await producer.resolveTrigger(triggerId, { approved: i !== 1 })).toEqual({ runId, step: 'approve' })
      await expect(producer.resolveTrigger(triggerId, { approved: true })).rejects.toMatchObject({ code: 'TRIGGER_CONFLICT' })
    }
    const logs = await waitForRuns(
      store,
      runs.map((r) => r.runId),
      60_000,
    )
    for (const [i, { runId }] of runs.entries()) {
      const log = logs.get(runId) ?? []
      expect(checkRunLog(log)).toEqual([])
      const done = log.at(-1)?.data as { result?: unknown }
      expect(done.result).toEqual({ approve: { approved: i !== 1 } })
      const paid = log.find((e) => e.kind === 'step.completed' && e.step === 'pay')?.data as { result?: unknown }
      expect(paid.result).toBe((i + 1) * 10)
    }
  })
})

describe('cancel across processes', () => {
  it('a run canceled by the producer while a worker process has it sleeping: flow.canceled, its timer job removed from BullMQ', async () => {
    const { id, store, producer, spawn } = setup()
    const w = spawn()
    await w.waitFor((m) => m.type === 'ready', 'ready')
    const { runId } = await producer.startFlow('five', { ns: id, sleepMs: 600_000 })
    await waitFor(async () => (await store.read(runId, { limit: 1000 })).some((e) => e.kind === 'step.await.time'), 'c asleep', 30_000)
    // step.await.time is appended before its timer job is enqueued.
    const delayedKey = `lfq:${id}:delayed`
    await waitFor(async () => (await redis.client.zcard(delayedKey)) === 1, 'the timer job', 30_000)
    await producer.cancel(runId, 'test')
    const log = await store.read(runId, { limit: 1000 })
    expect(log.at(-1)).toMatchObject({ kind: 'flow.canceled', data: { reason: 'test' } })
    expect(await redis.client.zcard(delayedKey)).toBe(0)
  })

  it("two apps (store prefixes) on one queue: a worker hands the other app's jobs back and says so; every run of both completes", async () => {
    const queueName = `shared${++n}`
    const fast = { queueName, backoff: { delayMs: 10, maxDelayMs: 50 }, onError: () => {} }
    const apps = ['appA', 'appB'].map((prefix) => {
      const store = createRedisStreamStore({ url: redis.url, prefix: `${prefix}${n}` })
      const queue = createBullMQQueue({ url: redis.url, ...fast })
      const errors: Error[] = []
      const flow = defineFlow({ name: 'two', steps: { a: { handler: async () => 1 }, b: { needs: ['a'], handler: async () => 2 } } })
      const runner = createRunner({ store, queue, flows: [flow], onError: (err) => errors.push(err as Error) })
      closers.push(async () => {
        await runner.stop()
        await queue.close()
        await store.close()
      })
      return { store, runner, errors }
    })
    await Promise.all(apps.map((app) => app.runner.start()))
    const runs = await Promise.all(apps.map((app) => Promise.all(Array.from({ length: 10 }, () => app.runner.startFlow('two', {})))))
    for (const [i, app] of apps.entries()) {
      const logs = await waitForRuns(
        app.store,
        (runs[i] ?? []).map((r) => r.runId),
        8_000,
      )
      expect([...logs.values()].flatMap(checkRunLog)).toEqual([])
    }
    // each worker took some of the other's jobs (20 runs × 2 steps over two workers) and said so, once
    const foreign = apps.map((app) => app.errors.filter((e) => /queued by a runner over store "redis:app/.test(e.message)))
    expect(foreign.map((f) => f.length)).toEqual([1, 1])
    expect(foreign[0]?.[0]?.message).toMatch(/store "redis:appB\d+".*this worker runs over store "redis:appA\d+".*own queue/)
  })
})
