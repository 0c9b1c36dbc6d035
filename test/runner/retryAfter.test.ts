// RetryAfterError(ms) with a delay that is no number of ms (NaN from a parsed header that was
// missing, a string): the attempt is retried after the step's own backoff, like any error; Infinity
// or a delay past what a Date holds waits the longest delay, a year. The run goes on. Before,
// the runner computed `nextRetryAt` from it, `new Date(NaN).toISOString()` threw inside the failure's
// compare-and-set, and the job was delivered again and again: step.started over and over, the run
// running for good (DESIGN "RetryAfterError(ms) sets the delay; backoff has a cap").
import { RetryAfterError, reduceFlow } from '@leanflow/core'
import { defineFlow } from '@leanflow/runner'
import { expect, it } from 'vitest'
import { describeOnStores } from '../fixtures/runnerOnStores.js'

/** Fails its first attempt with `RetryAfterError(ms)` (as `Number(res.headers.get('retry-after')) * 1000` can give). */
const retryAfter = (name: string, ms: unknown) =>
  defineFlow({
    name,
    steps: {
      s: {
        retry: { attempts: 2, backoff: { type: 'fixed', delayMs: 20 } },
        handler: async (_input, ctx) => {
          if (ctx.attempt === 1) throw new RetryAfterError(ms as number)
          return 'ok'
        },
      },
    },
  })

const flows = [retryAfter('nan', Number.NaN), retryAfter('str', '5')]
const far = [retryAfter('inf', Number.POSITIVE_INFINITY), retryAfter('far', 1e17)]

describeOnStores({ flows: [...flows, ...far], prefix: 'retryafter' }, (runner, store) => {
  it('a delay that is no finite number retries after the step’s backoff; the run completes', async () => {
    for (const flow of flows) {
      const { runId } = await runner().startFlow(flow.name, {})
      expect(await runner().result(runId, { timeout: '5s' }), flow.name).toEqual({ s: 'ok' })
      const events = await store().read(runId)
      expect(events.map((e) => e.kind)).toEqual([
        'flow.started',
        'step.started',
        'step.failed',
        'step.retry',
        'step.started',
        'step.completed',
        'flow.completed',
      ])
      expect(events.find((e) => e.kind === 'step.retry')?.data).toMatchObject({ delayMs: expect.any(Number) })
    }
  })

  it('Infinity, or a delay past what a Date holds, waits the longest delay (a year), shown in nextRetryAt', async () => {
    for (const flow of far) {
      const { runId } = await runner().startFlow(flow.name, {})
      await expect.poll(async () => reduceFlow(await store().read(runId)).steps.s?.status, { timeout: 5000 }).toBe('retrying')
      const state = reduceFlow(await store().read(runId))
      const wait = Date.parse(state.steps.s?.nextRetryAt as string) - Date.now()
      expect(wait).toBeGreaterThan(364 * 86_400_000)
      expect(wait).toBeLessThanOrEqual(365 * 86_400_000)
      await runner().cancel(runId)
    }
  })
})
