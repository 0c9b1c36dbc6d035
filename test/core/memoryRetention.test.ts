// The memory store frees what retention removes without being read again: a finished run's
// document goes with its log (the log's retention timer), and external events and their
// idempotency keys expire after `eventRetention` (a key published again after that is a new
// event, as on Redis, where the key expires). Before, documents stayed until the run was read
// again, and keys for ever: a long-lived process on the memory store grew without bound.
import { createMemoryStreamStore } from '@leanflow/core'
import { createRunner, defineFlow } from '@leanflow/runner'
import { expect, it } from 'vitest'
import { memoryStoreState } from '../../packages/core/src/memoryStreamStore.js'
import { waitFor } from '../helpers/waitFor.js'

it("a finished run's document is dropped when retention removes its log, read or not", async () => {
  // long enough that a loaded machine reads every result before it expires, short enough to wait out
  const store = createMemoryStreamStore({ retention: '2s' })
  const flow = defineFlow({ name: 'kept', steps: { a: { handler: async (_i, ctx) => ctx.do('x', () => 'y'.repeat(2000)) } } })
  const runner = createRunner({ store, flows: [flow] })
  await runner.start()
  try {
    const ids = await Promise.all(Array.from({ length: 20 }, async () => (await runner.startFlow(flow, {})).runId))
    await Promise.all(ids.map((id) => runner.result(id, { timeout: '10s' })))
    expect(memoryStoreState(store).sizes().documents).toBeGreaterThanOrEqual(20)
    // nothing reads them: the logs' retention timers alone free the documents
    await waitFor(() => memoryStoreState(store).sizes().documents === 0, 'the documents freed with their logs', 10_000)
    expect(await store.read(ids[0] as string)).toEqual([])
  } finally {
    await runner.stop()
    await store.close()
  }
})

it('external events and their idempotency keys expire after eventRetention: the key then publishes a new event, and memory is freed', async () => {
  let t = Date.parse('2026-01-01T00:00:00Z')
  const store = createMemoryStreamStore({ now: () => t })
  const first = await store.publishExternal('paid', { n: 1 }, { idempotencyKey: 'k' })
  expect((await store.publishExternal('paid', { n: 2 }, { idempotencyKey: 'k' })).id).toBe(first.id)
  for (let i = 0; i < 200; i++) await store.publishExternal(`kind-${i % 5}`, { i }, { idempotencyKey: `key-${i}` })
  expect(memoryStoreState(store).sizes()).toMatchObject({ externalEvents: 201, eventKeys: 201 })
  t += 8 * 24 * 3600_000 // past the default 7 days
  const again = await store.publishExternal('paid', { n: 3 }, { idempotencyKey: 'k' })
  expect(again.id).not.toBe(first.id)
  expect(again.data).toEqual({ n: 3 })
  // the sweep runs as events come (amortized): 200 more publishes of other kinds free the old ones
  for (let i = 0; i < 200; i++) await store.publishExternal('later', { i })
  const sizes = memoryStoreState(store).sizes()
  expect(sizes.eventKeys).toBe(1)
  expect(sizes.externalEvents).toBe(201)
  await store.close()
})
