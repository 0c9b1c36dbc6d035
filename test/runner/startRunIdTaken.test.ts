// A start refused because its `runId` names a run of another flow writes nothing: not its
// idempotency key, not a flow-control slot. Before, the key was written first: a retry with the
// same key (the run id left out, as the error says) failed the same way for 30 days, or, on a
// flow with flow control, answered the other flow's run as `{ runId, deduplicated: true }`; and
// the refused start held one of the flow's concurrency slots for the other flow's run.
import { defineFlow } from '@leanflow/runner'
import { expect, it } from 'vitest'
import { describeOnStores } from '../fixtures/runnerOnStores.js'
import { codeOf } from '../helpers/errorCode.js'

const steps = { s: { handler: async () => 1 } }
const other = defineFlow({ name: 'other', steps })
const plain = defineFlow({ name: 'plain', steps })
const limited = defineFlow({
  name: 'limited',
  concurrency: { limit: 1 },
  steps: { s: { handler: async (_i, ctx) => ctx.await.time('1h') } },
})

describeOnStores({ flows: [other, plain, limited], prefix: 'ridtaken' }, (runner, store) => {
  it('the key stays free: a retry without the run id starts a run of the flow', async () => {
    await runner().startFlow('other', {}, { runId: 'taken-1' })
    for (const flow of ['plain', 'limited']) {
      const key = `k-${flow}`
      expect(await codeOf(runner().startFlow(flow, {}, { runId: 'taken-1', idempotencyKey: key }))).toBe('INVALID_ARGUMENT')
      const retry = await runner().startFlow(flow, {}, { idempotencyKey: key })
      expect(retry.runId).not.toBe('taken-1')
      expect(retry.deduplicated).toBeUndefined()
      expect((await store().listRuns(flow)).map((r) => r.runId)).toEqual([retry.runId])
      expect(await runner().startFlow(flow, {}, { idempotencyKey: key })).toEqual(retry)
    }
    // the refused start took no slot: the one slot is the retry's run
    const { limits } = await runner().limits('limited')
    expect(limits).toEqual([{ scope: 'flow', kind: 'concurrency', key: '', active: 1, queued: 0 }])
  })
})
