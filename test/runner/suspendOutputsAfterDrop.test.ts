// A step that invokes a child suspends in one write, then starts the child (the write's outputs).
// Should the execution's poll see that write land (the step suspended: no lease) while the child's
// start still hangs on the store, the execution was dropped as having lost its lease; when the
// start then failed, its job ended as done, with no child and nothing to repair it: the parent
// waited for good (found by a kill-soak on a Redis Cluster, a master stalled past the node timeout).
// The job now goes back to the queue, and its re-delivery starts the child.
import { createMemoryStreamStore, LeanflowError } from '@leanflow/core'
import { createMemoryQueue, createRunner, defineFlow } from '@leanflow/runner'
import { expect, it } from 'vitest'
import { aroundMethod } from '../helpers/aroundMethod.js'

it('a child start that fails after the poll dropped the suspending execution: the job is delivered again and starts the child; the parent completes', async () => {
  const child = defineFlow({ name: 'kid', steps: { k: { handler: async () => 'kid' } } })
  const parent = defineFlow({ name: 'mom', steps: { p: { handler: async (_i, ctx) => ctx.invoke(child, {}) } } })
  const inner = createMemoryStreamStore()
  // the child's first write hangs past the parent's poll, then fails as an unreachable store does
  let failed = 0
  const store = aroundMethod(inner, 'createRun', async (createRun, args) => {
    const [, doc] = args as [string, { flow?: string }]
    if (doc?.flow === 'kid' && failed === 0) {
      failed++
      await new Promise((r) => setTimeout(r, 300))
      throw new LeanflowError('STORE_UNAVAILABLE', 'the store could not be reached in time')
    }
    return createRun(...args)
  })
  const queue = createMemoryQueue({ redeliverDelayMs: 20 })
  const runner = createRunner({ store, queue, flows: [parent, child], cancelPollMs: 50, onError: () => {} })
  await runner.start()
  try {
    const { runId } = await runner.startFlow(parent, {})
    // before: the parent stayed suspended on a child that was never written
    expect(await runner.result(runId, { timeout: '10s' })).toEqual({ p: { k: 'kid' } })
    expect(failed).toBe(1)
  } finally {
    await runner.stop()
  }
}, 20_000)
