// Calls that fold into one debounce window from several processes are ordered by the store, but
// each caller appends its own flow.debounced, and those can land out of that order: the log then
// showed an earlier call's input as the run's, while the handler ran with the last call's. When
// the window settles, the settled input is logged when the log shows another. Here one call's
// append is held back so that it lands after a later call's.
import { createMemoryStreamStore, type MemoryStreamStore, reduceFlow } from '@leanflow/core'
import { createRunner, defineFlow } from '@leanflow/runner'
import { expect, it } from 'vitest'
import { waitFor } from '../helpers/waitFor.js'

it("the run's log ends with the input the handler runs with, also when the calls' flow.debounced landed out of order", async () => {
  const store = createMemoryStreamStore()
  const late = Object.create(store) as MemoryStreamStore
  late.append = async (runId, event, opts) => {
    if (event.kind === 'flow.debounced' && (event.data as { input?: { n?: string } }).input?.n === 'b')
      await new Promise((r) => setTimeout(r, 200))
    return store.append(runId, event, opts)
  }
  const ran: unknown[] = []
  const flow = defineFlow({
    name: 'reindex',
    debounce: { key: () => 'doc-1', period: '400ms' },
    steps: { go: { handler: async (input: { n: string }) => void ran.push(input) } },
  })
  const runner = createRunner({ store: late, flows: [flow] })
  await runner.start()
  try {
    const { runId } = await runner.startFlow(flow, { n: 'a' })
    const b = runner.startFlow(flow, { n: 'b' }) // folds first; its flow.debounced lands last
    await new Promise((r) => setTimeout(r, 30))
    await runner.startFlow(flow, { n: 'c' }) // the last call
    await b
    await runner.result(runId, { timeout: '10s' })
    await waitFor(() => ran.length === 1, 'the handler')
    expect(ran).toEqual([{ n: 'c' }])
    const log = await store.read(runId)
    expect(log.filter((e) => e.kind === 'flow.debounced').map((e) => (e.data as { input: { n: string } }).input.n)).toEqual(['c', 'b', 'c'])
    expect(reduceFlow(log).input).toEqual({ n: 'c' })
  } finally {
    await runner.stop()
    await store.close()
  }
})

it('a window settled while the log cannot be read still runs with its settled input (logging it is best effort)', async () => {
  const store = createMemoryStreamStore()
  const flaky = Object.create(store) as MemoryStreamStore
  let failBackward = true
  flaky.read = async (runId, opts) => {
    if (opts?.direction === 'backward' && failBackward) {
      failBackward = false
      throw new Error('the store blinked')
    }
    return store.read(runId, opts)
  }
  const ran: unknown[] = []
  const flow = defineFlow({
    name: 'reindex2',
    debounce: { key: () => 'doc-2', period: '300ms' },
    steps: { go: { handler: async (input: { n: string }) => void ran.push(input) } },
  })
  const runner = createRunner({ store: flaky, flows: [flow], onError: () => {} })
  await runner.start()
  try {
    const { runId } = await runner.startFlow(flow, { n: 'a' })
    await runner.startFlow(flow, { n: 'b' })
    await runner.result(runId, { timeout: '10s' })
    expect(ran).toEqual([{ n: 'b' }])
    expect(failBackward).toBe(false)
  } finally {
    await runner.stop()
    await store.close()
  }
})
