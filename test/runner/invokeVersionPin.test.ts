// A child started by another worker than its invoke's (a take-over after the invoking worker died
// before creating it) runs on the version whose schema checked its input at the invoke, not on
// that worker's highest: a worker holding v1 and v2 of the child started it on v2 with input only
// v1's schema had checked, and v2's handler got input its own schema refuses. The invoking
// worker "dies" here by failing the child's createRun and stopping; the other takes the job over.
import { createMemoryStreamStore } from '@leanflow/core'
import { createMemoryQueue, createRunner, defineFlow } from '@leanflow/runner'
import { expect, it } from 'vitest'
import { z } from 'zod'
import { dyingAtChildCreate } from '../helpers/dyingAtChildCreate.js'
import { waitFor } from '../helpers/waitFor.js'

const childV1 = defineFlow({
  name: 'child',
  version: 1,
  input: z.object({ n: z.string() }),
  steps: { a: { handler: async (input) => ({ v: 1, n: input.n }) } },
})
const childV2 = defineFlow({
  name: 'child',
  version: 2,
  input: z.object({ n: z.number().int() }),
  steps: { a: { handler: async (input) => ({ v: 2, n: input.n }) } },
})
const parent = defineFlow({
  name: 'parent',
  steps: { p: { handler: async (_i, ctx) => ctx.invoke('child', { n: 'abc' }) } },
})

it("a child started by a take-over runs on the version that checked its input at the invoke (v1), not the worker's highest (v2)", async () => {
  const store = createMemoryStreamStore()
  const queue = createMemoryQueue({ redeliverDelayMs: 50, maxRedeliverDelayMs: 200 })
  const dying = dyingAtChildCreate(store, () => void first.stop())
  const first = createRunner({ store: dying.store, queue, flows: [parent, childV1], onError: () => {} })
  const second = createRunner({ store, queue, flows: [parent, childV1, childV2], onError: () => {} })
  await first.start()
  try {
    const { runId } = await first.startFlow(parent, {})
    while (!dying.died) await new Promise((r) => setTimeout(r, 10))
    await second.start()
    expect(await second.result(runId, { timeout: '10s' })).toEqual({ p: { a: { v: 1, n: 'abc' } } })
    const [child] = await store.listRuns('child')
    expect(child?.version).toBe(1)
  } finally {
    await first.stop()
    await second.stop()
    await store.close()
  }
})

it('a worker without the version a child starts on hands the parent back and says so once; a worker with it finishes the run', async () => {
  const store = createMemoryStreamStore()
  const queue = createMemoryQueue({ redeliverDelayMs: 50, maxRedeliverDelayMs: 200 })
  const dying = dyingAtChildCreate(store, () => void first.stop())
  const numeric = defineFlow({
    name: 'parent',
    steps: { p: { handler: async (_i, ctx) => ctx.invoke('child', { n: 5 }) } },
  })
  // the invoke checks { n: 5 } against v2's schema (the invoking worker's highest)
  const first = createRunner({ store: dying.store, queue, flows: [numeric, childV1, childV2], onError: () => {} })
  const errors: unknown[] = []
  const old = createRunner({ store, queue, flows: [numeric, childV1], onError: (e) => errors.push(e) })
  const later = createRunner({ store, queue, flows: [numeric, childV1, childV2], onError: () => {} })
  await first.start()
  try {
    const { runId } = await first.startFlow(numeric, {})
    while (!dying.died) await new Promise((r) => setTimeout(r, 10))
    await old.start()
    const said = (e: unknown) => /starts on version 2 of flow "child" .*which this worker does not hold/.test(String(e))
    await waitFor(() => errors.some(said), 'the hand-back said to onError', 10_000)
    expect(await store.listRuns('child')).toEqual([])
    await old.stop()
    expect(errors.filter(said)).toHaveLength(1)
    await later.start()
    expect(await later.result(runId, { timeout: '10s' })).toEqual({ p: { a: { v: 2, n: 5 } } })
  } finally {
    await first.stop()
    await old.stop()
    await later.stop()
    await store.close()
  }
})
