// A trigger resolved while its step waits out a retry's backoff (its first attempt made the
// trigger, then threw before `wait()`): the next attempt's `wait()` returns the payload by replay,
// without a write, and the step's end still logs the await's `step.resumed`, before its
// `step.completed`. Before, no `step.resumed` was ever appended for it (DESIGN: every await
// appends one when it resolves).
import { defineFlow } from '@leanflow/runner'
import { expect, it } from 'vitest'
import { logOf, waitEnd, waitKind } from '../fixtures/runnerKit.js'
import { describeOnStores } from '../fixtures/runnerOnStores.js'

const flow = defineFlow({
  name: 'backoff',
  steps: {
    s: {
      retry: { attempts: 3, backoff: { type: 'fixed', delayMs: 400 }, jitter: 0 },
      handler: async (_i, ctx) => {
        const t = await ctx.await.trigger<{ ok: boolean }>({ type: 'approval', timeout: '1m' })
        if (ctx.attempt === 1) throw new Error('fails before wait()')
        return await t.wait()
      },
    },
  },
})

describeOnStores({ flows: [flow], prefix: 'trigbackoff' }, (runner, store) => {
  it('resolved in the backoff: the next attempt gets the payload, and step.resumed precedes step.completed', async () => {
    const { runId } = await runner().startFlow('backoff', {})
    const reg = await waitKind(store(), runId, 'step.await.trigger')
    await waitKind(store(), runId, 'step.retry')
    expect(await runner().resolveTrigger((reg.data as { triggerId: string }).triggerId, { ok: true })).toMatchObject({ runId, step: 's' })
    const end = await waitEnd(store(), runId)
    expect(end.data).toMatchObject({ result: { s: { ok: true } } })
    const log = await logOf(store(), runId)
    const kinds = log.map((e) => e.kind)
    const resumed = log.filter((e) => e.kind === 'step.resumed')
    expect(resumed.map((e) => e.data)).toEqual([expect.objectContaining({ reason: 'trigger resolved', awaitType: 'trigger', position: 0 })])
    expect(kinds.indexOf('step.resumed')).toBeLessThan(kinds.indexOf('step.completed'))
    expect(kinds.indexOf('step.resumed')).toBeGreaterThan(kinds.lastIndexOf('step.started'))
  })
})
