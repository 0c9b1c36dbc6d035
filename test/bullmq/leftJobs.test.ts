/**
 * An ended step or run takes its timer jobs out of BullMQ: a timeout that did not fire, a race's
 * losing `await.time`, a failed run's other branch waiting or retrying. Left there, each fired as a
 * no-op when due, so a `timeout: '7d'` held a delayed job (its hash and its place in the delayed
 * set) for 7 days after its run ended. Real redis-server, real BullMQ queue, the queue's own counts.
 */
import { createBullMQQueue } from '@leanflow/bullmq'
import { type EventRecord, type FlowState, type JobQueue, readLog, reduceFlow } from '@leanflow/core'
import { createRedisStreamStore } from '@leanflow/redis'
import { createRunner, defineFlow, type Runner, type StepContext } from '@leanflow/runner'
import { Queue } from 'bullmq'
import { afterEach, describe, expect, it } from 'vitest'
import { aroundMethod } from '../helpers/aroundMethod.js'
import { useRedisServer } from '../helpers/redisServer.js'
import { waitFor } from '../helpers/waitFor.js'

const redis = useRedisServer({ args: ['--hz', '100'] })
let n = 0
const open: Array<() => Promise<unknown>> = []
afterEach(async () => {
  for (const close of open.splice(0).reverse()) await close()
})

const paid = (ctx: StepContext, orderId: string) =>
  ctx.await.event({ kind: 'order.paid', match: { 'data.orderId': orderId }, timeout: '7d' })

/** Fails the run `ms` in: once the other branch suspended, or failed its first attempt. */
const boomLater = async (ms = 300) => {
  await new Promise((r) => setTimeout(r, ms))
  throw new Error('boom')
}

const flows = [
  // an event awaited with a week's timeout, published at once
  defineFlow<{ orderId: string }>({ name: 'pay', steps: { wait: { handler: async (input, ctx) => paid(ctx, input.orderId) } } }),
  // a race of an hour's timer and the event: the event wins
  defineFlow<{ orderId: string }>({
    name: 'race',
    steps: {
      wait: { handler: async (input, ctx) => Promise.race([ctx.await.time('1h').then(() => 'late'), paid(ctx, input.orderId)]) },
      // a chained step after the race: the fast path of a step's end (its next step claimed in the same write)
      next: { needs: ['wait'], handler: async () => 'next' },
    },
  }),
  // an hour's sleep
  defineFlow({ name: 'sleeps', steps: { s: { handler: async (_i, ctx) => ctx.await.time('1h') } } }),
  // two branches: one waits an hour, the other fails the run; one retries for an hour while the other fails it
  defineFlow({
    name: 'branches',
    steps: {
      sleeps: { handler: async (_i, ctx) => ctx.await.time('1h') },
      fails: { retry: { attempts: 1 }, handler: async () => boomLater() },
    },
  }),
  // a branch that retries in an hour, its race's loser (an event with an hour's timeout) kept by the retry,
  // and a branch still running with an unwaited trigger's timeout, when the other branch fails the run
  defineFlow({
    name: 'loserRetries',
    steps: {
      flaky: {
        retry: { attempts: 5, backoff: { type: 'fixed', delayMs: 3_600_000 }, jitter: 0 },
        handler: async (_i, ctx) => {
          await Promise.race([ctx.await.event({ kind: 'never', timeout: '1h' }), ctx.await.time(50)])
          throw new Error('again')
        },
      },
      busy: {
        handler: async (_i, ctx) => {
          await ctx.await.trigger({ type: 'approve', timeout: '1h' })
          await new Promise((r) => setTimeout(r, 2000))
          return 'late'
        },
      },
      fails: { retry: { attempts: 1 }, handler: async () => boomLater(800) },
    },
  }),
  defineFlow({
    name: 'retries',
    steps: {
      flaky: {
        retry: { attempts: 5, backoff: { type: 'fixed', delayMs: 3_600_000 }, jitter: 0 },
        handler: async () => Promise.reject(new Error('again')),
      },
      fails: {
        retry: { attempts: 1 },
        handler: async () => boomLater(),
      },
    },
  }),
]

interface Setup {
  runner: Runner
  /** The run's state, folded from its whole log. */
  state: (runId: string) => Promise<FlowState>
  /** The run's whole log. */
  log: (runId: string) => Promise<EventRecord[]>
  /** BullMQ's own counts of the run's queue. */
  counts: () => Promise<Record<string, number>>
}

async function setup(wrap: (queue: JobQueue) => JobQueue = (q) => q): Promise<Setup> {
  const id = `left${++n}`
  const store = createRedisStreamStore({ url: redis.url, prefix: id })
  const queue = createBullMQQueue({ url: redis.url, queueName: id, backoff: { delayMs: 20, maxDelayMs: 200 } })
  const runner = createRunner({ store, queue: wrap(queue), flows, cancelPollMs: 50 })
  const jobs = new Queue(id, { connection: { url: redis.url }, prefix: 'lfq' })
  open.push(
    () => store.close(),
    () => queue.close(),
    () => jobs.close(),
    () => runner.stop(),
  )
  await runner.start()
  return {
    runner,
    state: async (runId) => reduceFlow(await readLog(store, runId)),
    log: (runId) => readLog(store, runId),
    counts: () => jobs.getJobCounts('delayed', 'wait', 'active'),
  }
}

/** The queue holds nothing once the run ended: no delayed timer, nothing waiting or running. */
async function drained(counts: () => Promise<Record<string, number>>) {
  await waitFor(async () => Object.values(await counts()).every((c) => c === 0), 'the queue empty', 5_000).catch(() => {})
  expect(await counts()).toEqual({ delayed: 0, wait: 0, active: 0 })
}

/** The run's timer jobs queued (they go out once its awaits' announcements are stored). */
async function delayed(counts: Setup['counts'], n: number) {
  await waitFor(async () => (await counts()).delayed === n, `${n} delayed jobs`, 5_000).catch(() => {})
  expect((await counts()).delayed).toBe(n)
}

async function awaiting(state: Setup['state'], runId: string) {
  await waitFor(async () => (await state(runId)).status === 'awaiting', `run ${runId} awaiting`, 10_000)
}

describe('an ended step or run removes the timer jobs it leaves queued', () => {
  it.each([
    ["an event awaited with timeout '7d', published: the run completes and its timeout job is gone", 'pay', 'o-1', 1],
    ["a race's losing await.time('1h') and the event's timeout: gone once the step completed, its next step chained", 'race', 'o-2', 2],
  ] as const)('%s', async (_name, flow, orderId, timers) => {
    const { runner, state, counts } = await setup()
    const { runId } = await runner.startFlow(flow, { orderId })
    await awaiting(state, runId)
    await delayed(counts, timers)
    await runner.publishEvent({ kind: 'order.paid', data: { orderId } })
    const result = await runner.result(runId, { timeout: '10s' })
    expect(result).toEqual(flow === 'pay' ? { wait: expect.objectContaining({ data: { orderId } }) } : { next: 'next' })
    await drained(counts)
  })

  it('a branch waiting an hour when the other branch fails the run: its time job is gone', async () => {
    const { runner, log, counts } = await setup()
    const { runId } = await runner.startFlow('branches', {})
    await expect(runner.result(runId, { timeout: '10s' })).rejects.toMatchObject({ code: 'RUN_FAILED' })
    expect((await log(runId)).filter((e) => e.kind === 'step.await.time').map((e) => e.step)).toEqual(['sleeps'])
    await drained(counts)
  })

  it('a branch retrying in an hour when the other branch fails the run: its retry job is gone', async () => {
    const { runner, log, counts } = await setup()
    const { runId } = await runner.startFlow('retries', {})
    await expect(runner.result(runId, { timeout: '10s' })).rejects.toMatchObject({ code: 'RUN_FAILED' })
    const failed = (await log(runId)).filter((e) => e.kind === 'step.failed' && e.step === 'flaky')
    expect(failed.map((e) => (e.data as { willRetry: boolean }).willRetry)).toEqual([true])
    await drained(counts)
  })

  it("a branch retrying (its race's losing timeout kept for the retry) and one running (an unwaited trigger's timeout) when the third fails the run: their timeouts are gone", async () => {
    const { runner, log, counts } = await setup()
    const { runId } = await runner.startFlow('loserRetries', {})
    await expect(runner.result(runId, { timeout: '10s' })).rejects.toMatchObject({ code: 'RUN_FAILED' })
    const kinds = (await log(runId)).map((e) => `${e.kind} ${e.step ?? ''}`)
    expect(kinds).toContain('step.await.event flaky')
    expect(kinds).toContain('step.await.trigger busy')
    await drained(counts)
  })

  it('a cancel between the write of an await.time and the queuing of its timer (it removed a job not there yet): the timer goes once queued', async () => {
    // the worker's enqueue of the run's time job waits until the run is canceled (a parent's
    // cascade, or a cancel from another process, read the run right after its await was written)
    let canceled: () => void = () => {}
    const afterCancel = new Promise<void>((r) => {
      canceled = r
    })
    const { runner, state, counts } = await setup((queue) =>
      aroundMethod(queue, 'enqueue', async (enqueue, args) => {
        if ((args[0] as { id: string }).id.startsWith('w~')) await afterCancel
        return enqueue(...args)
      }),
    )
    try {
      const { runId } = await runner.startFlow('sleeps', {})
      await awaiting(state, runId)
      await runner.cancel(runId, 'changed my mind')
      expect((await state(runId)).status).toBe('canceled')
    } finally {
      canceled()
    }
    await drained(counts)
  })
})
