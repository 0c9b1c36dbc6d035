// A rerun's begin job (its producer died after createRun) taken by a worker that lacks the run's
// version (design/versions-and-reruns.md: such a worker hands the job back, "and the run's log gets
// nothing from it"). The producer's writes after createRun fail, as if it died there: its begin job
// carries out the copies. A v2-only worker takes that job: it hands it back, writing nothing; a v1
// worker then does it. (The flow-control case is in rerunBeginJobQueued.test.ts.)
import { createMemoryStreamStore, LeanflowError, type MemoryStreamStore } from '@leanflow/core'
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
