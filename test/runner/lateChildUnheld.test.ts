// A parent canceled by a process that does not hold its child's flow (the CLI holds no flows),
// after the invoke recorded the child but before the child was created (its worker died): the
// cancel succeeds, the child cannot be created there, and `onError` is told which child of which
// run was not created and why, with its code, not the bare "Flow is not registered: pass it in
// createRunner({ flows })" meant for an app's own startFlow.
import { createMemoryStreamStore, isLeanflowError } from '@leanflow/core'
import { createMemoryQueue, createRunner, defineFlow } from '@leanflow/runner'
import { expect, it } from 'vitest'
import { dyingAtChildCreate } from '../helpers/dyingAtChildCreate.js'

const child = defineFlow({ name: 'child', steps: { a: { handler: async () => 1 } } })
const parent = defineFlow({ name: 'parent', steps: { p: { handler: async (_i, ctx) => ctx.invoke('child', {}) } } })

it('a cancel from a process without the child flow says which child was not created, and the cancel stands', async () => {
  const store = createMemoryStreamStore()
  const queue = createMemoryQueue()
  const dying = dyingAtChildCreate(store, () => void worker.stop())
  const worker = createRunner({ store: dying.store, queue, flows: [parent, child], onError: () => {} })
  const errors: unknown[] = []
  const cli = createRunner({ store, queue: createMemoryQueue(), flows: [], onError: (e) => errors.push(e) })
  await worker.start()
  try {
    const { runId } = await worker.startFlow(parent, {})
    while (!dying.died) await new Promise((r) => setTimeout(r, 10))
    await worker.stop()
    await cli.cancel(runId, 'operator')
    expect((await store.getRunState<{ status: string }>(runId))?.doc.status).toBe('canceled')
    expect(await store.listRuns('child')).toEqual([])
    expect(errors).toHaveLength(1)
    const err = errors[0]
    expect(isLeanflowError(err, 'FLOW_NOT_FOUND')).toBe(true)
    expect(String((err as Error).message)).toMatch(
      new RegExp(
        `Child run "[^"]+" \\(flow "child"\\) of run "${runId}" was not created: this process does not hold (version 1 of )?flow "child"`,
      ),
    )
    expect((err as Error).message).not.toMatch(/pass it in createRunner/)
  } finally {
    await worker.stop()
    await cli.stop()
    await store.close()
  }
})
