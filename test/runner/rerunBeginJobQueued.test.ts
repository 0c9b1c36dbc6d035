// A rerun queued by flow control whose producer died after createRun: its begin job logs what the
// producer would have, flow.queued (split from rerunBeginJob.test.ts: each waits for a begin job,
// due 5 s after the start by design, so apart they run side by side).
import { createMemoryStreamStore, LeanflowError, type MemoryStreamStore, reduceFlow } from '@leanflow/core'
import { createMemoryQueue, createRunner, defineFlow } from '@leanflow/runner'
import { expect, it } from 'vitest'
import { waitFor } from '../helpers/waitFor.js'

it('a rerun queued by flow control whose producer died after createRun: its begin job logs flow.queued (the run shows queued, not running)', async () => {
  const store = createMemoryStreamStore()
  const gate = defineFlow({
    name: 'gate',
    concurrency: { limit: 1 },
    steps: { a: { handler: async () => 'a' }, b: { needs: ['a'], handler: async (_i, ctx) => ctx.await.event({ kind: 'open' }) } },
  })
  const queue = createMemoryQueue()
  const worker = createRunner({ store, queue, flows: [gate], onError: () => {} })
  await worker.start()
  try {
    const { runId: old } = await worker.startFlow(gate, {})
    await waitFor(async () => reduceFlow(await store.read(old)).status === 'awaiting', 'the first run holds the slot')
    const failing = Object.create(store) as MemoryStreamStore
    const down = () => Promise.reject(new LeanflowError('STORE_UNAVAILABLE', 'the producer died here'))
    failing.append = down
    failing.appendMany = down
    const producer = createRunner({ store: failing, queue, flows: [gate], onError: () => {} })
    const { runId } = await producer.rerun(old, { from: 'b' })
    await waitFor(async () => (await store.read(runId)).some((e) => e.kind === 'flow.queued'), 'flow.queued from the begin job')
    const events = await store.read(runId)
    expect(events.map((e) => `${e.kind}${e.step ? `:${e.step}` : ''}`)).toEqual(['flow.started', 'step.completed:a', 'flow.queued'])
    expect(reduceFlow(events)).toMatchObject({ status: 'queued', queued: { reason: 'concurrency' } })
    // the slot frees: the rerun runs
    await worker.publishEvent({ kind: 'open', data: 1 })
    await worker.result(old, { timeout: '10s' })
    await waitFor(async () => reduceFlow(await store.read(runId)).status !== 'queued', 'the rerun admitted')
  } finally {
    await worker.stop()
    await store.close()
  }
})
