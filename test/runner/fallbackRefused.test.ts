// publishEvent, resolveTrigger and cancel each queue a delayed job that finishes them should their
// process die (a match, trigger or cancel job) before they write. A queue that does not take it
// (Redis out of reach) refuses the call with the queue's error code and a message that names the
// call, says nothing was written and how to retry; before, the message was the queue's, about a
// job id the caller never saw (found by an events probe under CLIENT KILL). The memory store and
// a real memory queue, whose enqueue of those jobs fails as an unreachable BullMQ's does.
import { createMemoryStreamStore, isLeanflowError, type JobQueue, type JobSpec, LeanflowError, reduceFlow } from '@leanflow/core'
import { createMemoryQueue, createRunner, defineFlow } from '@leanflow/runner'
import { expect, it } from 'vitest'
import { waitFor } from '../helpers/waitFor.js'

/** A real memory queue whose enqueue of the jobs `refuses` picks fails as an unreachable BullMQ's does. */
function refusingQueue(refuses: (job: JobSpec) => boolean): JobQueue {
  const inner = createMemoryQueue()
  return {
    enqueue: async (job) => {
      if (refuses(job))
        throw new LeanflowError('STORE_UNAVAILABLE', `enqueue("${job.id}") got no answer from Redis within 5000 ms (commandTimeout)`)
      return inner.enqueue(job)
    },
    remove: (id) => inner.remove(id),
    process: (handler, opts) => inner.process(handler, opts),
    close: () => inner.close(),
  }
}

it('a fallback job the queue does not take refuses the call, naming it, with nothing written', async () => {
  const flow = defineFlow({
    name: 'approve',
    steps: { wait: { handler: async (_i, ctx) => (await (await ctx.await.trigger<{ ok: boolean }>({ type: 'webhook' })).wait()).ok } },
  })
  const store = createMemoryStreamStore()
  let refuse = false
  const queue = refusingQueue((job) => refuse && ['match', 'trigger', 'cancel'].includes(job.name))
  const runner = createRunner({ store, queue, flows: [flow], onError: () => {} })
  await runner.start()
  try {
    const { runId } = await runner.startFlow(flow, {})
    let triggerId = ''
    await waitFor(async () => {
      const s = reduceFlow(await store.read(runId)).steps.wait
      triggerId = s?.awaiting?.triggerId ?? ''
      return s?.status === 'awaiting' && triggerId !== ''
    }, 'the trigger awaited')
    refuse = true
    const refused = async (call: () => Promise<unknown>, name: string) => {
      const err = await call().catch((e: unknown) => e)
      expect(isLeanflowError(err, 'STORE_UNAVAILABLE'), String(err)).toBe(true)
      expect((err as Error).message).toMatch(new RegExp(`^${name} did not go ahead: .*Nothing was written: retry it`))
    }
    await refused(() => runner.publishEvent({ kind: 'paid', data: 1 }), 'publishEvent\\("paid"\\)')
    expect(await store.readExternal('paid', 0)).toEqual([])
    await refused(() => runner.resolveTrigger(triggerId, { ok: true }), `resolveTrigger\\("${triggerId}"\\)`)
    await refused(() => runner.cancel(runId), `cancel\\("${runId}"\\)`)
    const state = reduceFlow(await store.read(runId))
    expect(state.status).toBe('awaiting')
    expect(state.steps.wait?.awaiting?.triggerId).toBe(triggerId)
    // the queue back: the same calls go ahead
    refuse = false
    await runner.resolveTrigger(triggerId, { ok: true })
    expect(await runner.result(runId, { timeout: '5s' })).toEqual({ wait: true })
  } finally {
    await runner.stop()
  }
})

it('a start whose first job the queue does not take is refused, naming the run and the retry, with nothing written', async () => {
  const flow = defineFlow({ name: 'greet', steps: { hi: { handler: async () => 'hi' } } })
  const store = createMemoryStreamStore()
  let refuse = true
  const queue = refusingQueue(() => refuse)
  const runner = createRunner({ store, queue, flows: [flow], onError: () => {} })
  await runner.start()
  try {
    const err = await runner.startFlow(flow, {}, { runId: 'g1', idempotencyKey: 'k1' }).catch((e: unknown) => e)
    expect(isLeanflowError(err, 'STORE_UNAVAILABLE'), String(err)).toBe(true)
    expect((err as Error).message).toMatch(
      /^Run "g1" was not started: the queue did not take its first job \(the queue's Redis could not be reached in time\)\. Nothing of the run was written: start it again/,
    )
    expect(await store.read('g1')).toEqual([])
    // the queue back: the same start goes ahead, once
    refuse = false
    const { runId } = await runner.startFlow(flow, {}, { runId: 'g1', idempotencyKey: 'k1' })
    expect(await runner.result(runId, { timeout: '5s' })).toEqual({ hi: 'hi' })
  } finally {
    await runner.stop()
  }
})
