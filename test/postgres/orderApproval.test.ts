// The demo's order flow end to end on the Postgres example store and the memory queue: its child
// runs, a retried step, an awaited event, a trigger, a time await, a per-customer concurrency
// limit (flow control from a memory store, see withMemoryFlowControl.ts).
import { reduceFlow } from '@leanflow/core'
import { createMemoryQueue, createRunner, type Runner } from '@leanflow/runner'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FAST_TIMINGS, invoiceFlow, orderFlow } from '../../examples/order-approval/flows.js'
import { createPostgresStreamStore, type PostgresStreamStore } from '../../examples/postgres-store/postgresStreamStore.js'
import { withMemoryFlowControl } from '../../examples/postgres-store/withMemoryFlowControl.js'
import { usePostgres } from '../helpers/postgresServer.js'

const pg = usePostgres()
let store: PostgresStreamStore
let runner: Runner

beforeAll(async () => {
  store = withMemoryFlowControl(await createPostgresStreamStore({ connectionString: pg.url, schema: 'orders' }))
  const flows = [orderFlow({ timings: FAST_TIMINGS, baseUrl: 'http://localhost:3999' }), invoiceFlow({ timings: FAST_TIMINGS })]
  runner = createRunner({ store, flows, queue: createMemoryQueue({ redeliverDelayMs: 20 }), onError: () => {} })
  runner.start()
})

afterAll(async () => {
  await runner?.stop()
  await store?.close()
})

/** Confirms the payment and approves the order as soon as the run awaits them; resolves at its end. */
async function drive(runId: string, orderId: string) {
  for await (const e of store.follow(runId, { signal: AbortSignal.timeout(30_000) })) {
    if (e.kind === 'step.await.event') await runner.publishEvent({ kind: 'payment.confirmed', data: { orderId } })
    if (e.kind === 'step.await.trigger') await runner.resolveTrigger((e.data as { triggerId: string }).triggerId, { approved: true })
    if (e.kind.startsWith('flow.') && e.kind !== 'flow.started' && e.kind !== 'flow.queued') break
  }
  return reduceFlow(await store.read(runId, { limit: 10_000 }))
}

describe('the order-approval flow on the Postgres example store', () => {
  it('runs an order with two invoice child runs to completion; every event and the state live in PostgreSQL', async () => {
    const orderId = 'o-pg-1'
    const lines = [
      { sku: 'notebook', qty: 2, unitPrice: 12.5 },
      { sku: 'pen', qty: 5, unitPrice: 3.5 },
    ]
    const { runId } = await runner.startFlow('order', { orderId, lines })
    const state = await drive(runId, orderId)
    expect(state.status).toBe('completed')
    for (const step of Object.values(state.steps)) expect(step.status).toBe('completed')
    expect(state.steps.charge?.attempt).toBe(3)
    expect(state.steps.bill?.result).toEqual({ invoices: 2, total: 42.5 })
    expect(await store.listRuns('order')).toEqual([expect.objectContaining({ runId, status: 'completed', children: 2 })])
    expect((await store.listRuns('invoice')).map((r) => r.status)).toEqual(['completed', 'completed'])
    // the rows themselves: the log and the run document are in the database
    const rows = await store.pool.query('SELECT count(*)::int AS n FROM orders.events WHERE run_id = $1', [runId])
    expect(rows.rows[0].n).toBe((await store.read(runId, { limit: 10_000 })).length)
    const doc = await store.pool.query('SELECT version FROM orders.run_state WHERE run_id = $1', [runId])
    expect(doc.rows[0].version).toBeGreaterThan(1)
  })

  it("a customer's second order is queued until the first ends", async () => {
    const first = await runner.startFlow('order', { orderId: 'o-q-1', customerId: 'c-9' })
    const second = await runner.startFlow('order', { orderId: 'o-q-2', customerId: 'c-9' })
    expect(reduceFlow(await store.read(second.runId)).status).toBe('queued')
    expect(await store.listRuns('order', { status: 'queued' })).toEqual([expect.objectContaining({ runId: second.runId })])
    expect((await drive(first.runId, 'o-q-1')).status).toBe('completed')
    expect((await drive(second.runId, 'o-q-2')).status).toBe('completed')
    // the runner gives the slot back while it appends the run's last events (its last
    // step.completed and flow.completed may be stored a moment after the next run's first
    // step.started): the second run began after the first one's last step had started
    const firstLog = await store.read(first.runId, { limit: 10_000 })
    const ended = Date.parse(firstLog.findLast((e) => e.kind === 'step.started')?.ts ?? '')
    const begun = (await store.read(second.runId, { limit: 10_000 })).find((e) => e.kind === 'step.started')
    expect(Date.parse(begun?.ts ?? '')).toBeGreaterThanOrEqual(ended)
  })
})
