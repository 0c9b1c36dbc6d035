/**
 * Timer jobs (time awaits, await timeouts, retries) are enqueued with a delay computed from the
 * store clock at enqueue time, so the latency of the compare-and-set and of the append before
 * the enqueue does not make every timer late. The store's appends take 200 ms of (injected)
 * store time here; the job must still be due at its deadline, not 200 ms after it.
 */
import type { JobQueue, NewEvent } from '@leanflow/core'
import { createMemoryStreamStore, isLeanflowError } from '@leanflow/core'
import { createMemoryQueue, defineFlow, type RunnerStore } from '@leanflow/runner'
import { expect, it } from 'vitest'
import { logOf, startRunner, waitEnd } from '../fixtures/runnerKit.js'

const LATENCY_MS = 200

it('time, timeout and retry jobs are due at their deadline by the store clock, not late by the latency of the append before the enqueue', async () => {
  let extra = 0
  const clock = () => Date.now() + extra
  const store = createMemoryStreamStore({ now: clock })
  // the appends that precede a timer's enqueue take LATENCY_MS of store time
  const slow: RunnerStore = {
    ...store,
    append: async (runId: string, event: NewEvent, opts) => {
      if (['step.await.time', 'step.await.trigger', 'step.failed'].includes(event.kind)) extra += LATENCY_MS
      return store.append(runId, event, opts)
    },
  }
  const inner = createMemoryQueue()
  const enqueued: Array<{ id: string; name: string; dueAt: number }> = []
  const queue: JobQueue = {
    ...inner,
    enqueue: async (job) => {
      enqueued.push({ id: job.id, name: job.name, dueAt: clock() + (job.delayMs ?? 0) })
      return inner.enqueue(job)
    },
  }
  let tries = 0
  const flow = defineFlow({
    name: 'timers',
    steps: {
      s: {
        retry: { attempts: 2, backoff: { type: 'fixed', delayMs: 300 }, jitter: 0 },
        handler: async (_i, ctx) => {
          if (++tries === 1) throw new Error('first try fails')
          await ctx.await.time(300)
          const t = await ctx.await.trigger({ type: 'webhook', timeout: 300 })
          return t.wait().catch((err: unknown) => (isLeanflowError(err, 'AWAIT_TIMEOUT') ? 'timed out' : Promise.reject(err)))
        },
      },
    },
  })
  const runner = await startRunner(slow, [flow], { queue, clock })
  try {
    const { runId } = await runner.startFlow('timers', {})
    const end = await waitEnd(store, runId, 20_000)
    expect(end.data).toMatchObject({ result: { s: 'timed out' } })
    const log = await logOf(store, runId)
    const deadline = (kind: string, field: string) => {
      const data = log.find((e) => e.kind === kind)?.data as Record<string, string> | undefined
      return Date.parse(data?.[field] ?? '')
    }
    const due = (prefix: string) => enqueued.find((j) => j.id.startsWith(prefix))?.dueAt ?? Number.NaN
    const checks = [
      { job: 'retry', dueAt: due(`s~${runId}~s~2`), deadline: deadline('step.failed', 'nextRetryAt') },
      { job: 'time', dueAt: due(`w~${runId}~s~2~0`), deadline: deadline('step.await.time', 'resumeAt') },
      { job: 'timeout', dueAt: due(`x~${runId}~s~2~1`), deadline: deadline('step.await.trigger', 'timeoutAt') },
    ]
    for (const c of checks) {
      // never early by more than the clock estimate's error (half the round trip it was measured
      // over: a few ms on a loaded CI, where -4 was seen; an early job is put off again by the
      // store clock anyway); never late by the append's latency
      expect(Number.isFinite(c.dueAt - c.deadline), c.job).toBe(true)
      expect(c.dueAt - c.deadline, c.job).toBeGreaterThanOrEqual(-10)
      expect(c.dueAt - c.deadline, c.job).toBeLessThan(LATENCY_MS / 2)
    }
  } finally {
    await runner.stop()
    await store.close()
  }
})
