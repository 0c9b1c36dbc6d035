// `runner.stop()` returns once this process's observers were told of what its last steps
// appended: a worker that stops and then closes its store (as every worker does on SIGTERM)
// exports complete spans and metrics. An observer of a run another process started first reads
// the run's flow.started from the store: here that read is slow, so the end of the run is told
// well after it was appended. Before, stop() returned first, the store closed under the read,
// and the observer never saw the step's end (a metric short in @leanflow/otel's worker test).
import { createMemoryStreamStore, type MemoryStreamStore } from '@leanflow/core'
import { createMemoryQueue, createRunner, defineFlow } from '@leanflow/runner'
import { expect, it } from 'vitest'

const flow = defineFlow({ name: 'one', steps: { a: { handler: async () => 1 } } })

it("stop() waits for the observers to be told of the last steps' events, then the store may close", async () => {
  const store = createMemoryStreamStore()
  const slow = Object.create(store) as MemoryStreamStore
  slow.read = async (...args: Parameters<MemoryStreamStore['read']>) => {
    await new Promise((r) => setTimeout(r, 300))
    return store.read(...args)
  }
  const queue = createMemoryQueue()
  const producer = createRunner({ store, queue, flows: [flow] })
  const worker = createRunner({ store: slow, queue, flows: [flow] })
  const seen: string[] = []
  worker.observe({ onEvent: (e) => void seen.push(`${e.kind}${e.step ? `:${e.step}` : ''}`) })
  await worker.start()
  const { runId } = await producer.startFlow(flow, {})
  await producer.result(runId, { timeout: '10s' })
  await worker.stop()
  await store.close()
  expect(seen).toEqual(['step.started:a', 'step.completed:a', 'flow.completed'])
})

it('stop() of a runner never started (a producer) waits for its observers too: a cancel it appended is told before the store closes', async () => {
  const store = createMemoryStreamStore()
  const slow = Object.create(store) as MemoryStreamStore
  slow.read = async (...args: Parameters<MemoryStreamStore['read']>) => {
    await new Promise((r) => setTimeout(r, 300))
    return store.read(...args)
  }
  const starter = createRunner({ store, flows: [flow], onError: () => {} })
  const { runId } = await starter.startFlow(flow, {})
  // another process's producer cancels it: its observer first reads the run's flow.started (slow)
  const canceler = createRunner({ store: slow, flows: [flow], onError: () => {} })
  const seen: string[] = []
  canceler.observe({ onEvent: (e) => void seen.push(e.kind) })
  await canceler.cancel(runId, 'no worker today')
  await canceler.stop()
  await starter.stop()
  await store.close()
  expect(seen).toContain('flow.canceled')
})
