// A rerun's begin job (its producer died after createRun) logs what the producer would have:
// flow.queued for a run flow control queued. One taken by a worker that lacks the run's version (design/versions-and-reruns.md:
// such a worker hands the job back, "and the run's log gets nothing from it"). The producer's
// writes after createRun fail, as if it died there: its begin job carries out the copies. A
// v2-only worker takes that job: it hands it back, writing nothing; a v1 worker then does it.
import { createMemoryStreamStore, LeanflowError, type MemoryStreamStore, reduceFlow } from '@leanflow/core'
import { createMemoryQueue, createRunner, defineFlow } from '@leanflow/runner'
import { expect, it } from 'vitest'
import { waitFor } from '../helpers/waitFor.js'

const steps = { a: { handler: async () => 'a' }, b: { needs: ['a'], handler: async () => 'b' } }
const v1 = defineFlow({ name: 'order', version: 1, steps })
const v2 = defineFlow({ name: 'order', version: 2, steps })

it("a v2-only worker hands a v1 rerun's begin job back and writes none of its copies; a v1 worker writes them", async () => {
  const store = createMemoryStreamStore()
  const first = createRunner({ store, flows: [v1] })
  await first.start()
  const { runId: old } = await first.startFlow(v1, {})
  await first.result(old, { timeout: '10s' })
  await first.stop()

  // a producer whose appends fail once the rerun is created (it "dies" before writing its copies)
  const failing = Object.create(store) as MemoryStreamStore
  const down = () => Promise.reject(new LeanflowError('STORE_UNAVAILABLE', 'the producer died here'))
  failing.append = down
  failing.appendMany = down
  const queue = createMemoryQueue()
  const producer = createRunner({ store: failing, queue, flows: [v1], onError: () => {} })
  const errors: unknown[] = []
  const v2only = createRunner({ store, queue, flows: [v2], onError: (e) => errors.push(e) })
  await v2only.start()
  try {
    const { runId } = await producer.rerun(old, { from: 'b' })
    await waitFor(() => errors.some((e) => String(e).includes(`Run "${runId}" is pinned to version 1`)), 'the hand-back')
    await new Promise((r) => setTimeout(r, 300))
    expect((await store.read(runId)).map((e) => e.kind)).toEqual(['flow.started'])
    // a worker holding version 1 takes the job and carries it out
    const fixer = createRunner({ store, queue, flows: [v1] })
    await fixer.start()
    expect(await fixer.result(runId, { timeout: '10s' })).toEqual({ b: 'b' })
    const copy = (await store.read(runId)).find((e) => e.kind === 'step.completed' && e.step === 'a')
    expect(copy?.data).toMatchObject({ copied: true })
    await fixer.stop()
  } finally {
    await v2only.stop()
    await store.close()
  }
})

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
