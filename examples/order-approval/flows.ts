// The demo's flows: every leanflow capability in one order, `invoice` (a child run per order
// line), and `restock`, started by a schedule.
// Flow control: one active order per customer (a second order of the same customer is queued).
//
//   validate ─► bill ─► charge ─► payment ─┬─► reserve-stock ─┐
//   (state)    (one     (fails    (awaits  ├─► notify ────────┼─► ship
//              invoice  twice,    event)   └─► approval ──────┘
//              run per  retries)           (time / trigger awaits; fan-out, fan-in)
//              line)
import { type Duration, NonRetriableError } from '@leanflow/core'
import { defineFlow, type ScheduleTick } from '@leanflow/runner'

/** One line of an order: the `invoice` flow prices it. */
export interface OrderLine {
  sku: string
  qty: number
  unitPrice: number
}

/** The input of an `order` run. */
export interface OrderInput {
  orderId: string
  /** The key of the flow's concurrency limit (one active order per customer); `guest` when absent. */
  customerId?: string
  customer?: string
  amount?: number
  items?: string[]
  /** One `invoice` child run per line (none when absent). */
  lines?: OrderLine[]
  /** The card is declined: `charge` fails for good (the page's *decline card*; fix it, then rerun from `charge`). */
  declineCard?: boolean
}

/** Delays of the demo: seconds when a person watches, milliseconds in `--once` and tests. */
export interface DemoTimings {
  /** First retry delay of `charge` (exponential backoff, ×2 per try). */
  retryDelayMs: number
  /** How long `reserve-stock` waits (a durable timer). */
  warehouseMs: number
  /** The cadence of the `restock-check` schedule. @default '30s' */
  restockEvery?: Duration | undefined
  /** How long an `invoice` run waits before it prices its line (a durable timer; none when 0). @default 0 */
  invoiceMs?: number | undefined
}

export const LIVE_TIMINGS: DemoTimings = { retryDelayMs: 1000, warehouseMs: 4000, invoiceMs: 1500 }
export const FAST_TIMINGS: DemoTimings = { retryDelayMs: 50, warehouseMs: 200 }

/** The input of an `invoice` run: one order line, and its order. */
export interface InvoiceInput extends OrderLine {
  orderId: string
}

/**
 * The demo's child flow: `invoice`, one run per order line, invoked by the order's `bill` step
 * (`ctx.invoke`). Its one step, `total`, prices the line; its result is the run's result,
 * `{ total: { sku, qty, amount } }`, which the parent's `ctx.invoke` returns.
 *
 * @example
 * ```ts
 * const runner = createRunner({ store, flows: [orderFlow(opts), invoiceFlow({ timings: LIVE_TIMINGS })] })
 * ```
 */
export function invoiceFlow(opts: { timings: DemoTimings }) {
  const wait = opts.timings.invoiceMs ?? 0
  return defineFlow({
    name: 'invoice',
    steps: {
      total: {
        handler: async (line: InvoiceInput, ctx) => {
          // a short durable wait, so the page shows the parent awaiting its children
          if (wait > 0) await ctx.await.time(wait)
          const amount = Math.round(line.qty * line.unitPrice * 100) / 100
          ctx.logger.info('line priced', { orderId: line.orderId, sku: line.sku, amount })
          return { sku: line.sku, qty: line.qty, amount }
        },
      },
    },
  })
}

/**
 * The `order` flow of the demo. One active order per customer: `concurrency: { limit: 1, key }`
 * keyed by `customerId`, so a customer's second order is `queued` (the run's log says why:
 * `flow.queued { reason: 'concurrency', key }`) until the first one ends, while other customers'
 * orders run.
 *
 * @example
 * ```ts
 * const runner = createRunner({ store, flows: [orderFlow({ timings: LIVE_TIMINGS, baseUrl: 'http://localhost:3000' })] })
 * ```
 */
export function orderFlow(opts: { timings: DemoTimings; baseUrl: string }) {
  const { timings, baseUrl } = opts
  const invoice = invoiceFlow({ timings })
  return defineFlow({
    name: 'order',
    concurrency: { limit: 1, key: (input: OrderInput | null | undefined) => input?.customerId ?? 'guest' },
    steps: {
      validate: {
        handler: async (input: OrderInput, ctx) => {
          if (!input?.orderId) throw new NonRetriableError('order input needs an orderId, e.g. { "orderId": "o-1" }')
          ctx.logger.info('order received', { orderId: input.orderId, customer: input.customer })
          await ctx.state.set('order', { id: input.orderId, amount: input.amount ?? 0, items: input.items ?? [] })
          return { ok: true }
        },
      },
      bill: {
        needs: ['validate'],
        handler: async (input: OrderInput, ctx) => {
          // one child run per line, all at once: the step suspends until every invoice run ended
          const lines = input.lines ?? []
          const invoices = await Promise.all(lines.map((line) => ctx.invoke(invoice, { orderId: input.orderId, ...line })))
          const total = Math.round(invoices.reduce((sum, r) => sum + r.total.amount, 0) * 100) / 100
          await ctx.state.set('invoiced', { total, lines: invoices.map((r) => r.total) })
          ctx.logger.info('order billed', { invoices: invoices.length, total })
          return { invoices: invoices.length, total }
        },
      },
      charge: {
        needs: ['bill'],
        retry: { attempts: 3, backoff: { type: 'exponential', delayMs: timings.retryDelayMs, maxDelayMs: 10_000 } },
        handler: async (input: OrderInput, ctx) => {
          // on a flag: the run fails here, and `runner.rerun(runId, { from: 'charge', input })` picks it up again
          if (input.declineCard)
            throw new NonRetriableError(`card declined for order ${input.orderId}: fix the card, then rerun from charge`)
          // The card processor is flaky on purpose: the first two attempts fail, the third succeeds.
          if (ctx.attempt < 3) {
            ctx.logger.warn('card processor timed out', { attempt: ctx.attempt })
            throw new Error(`card processor timed out (attempt ${ctx.attempt} of 3)`)
          }
          const { total } = ctx.results.bill as { total: number }
          const chargeId = await ctx.do('charge-card', async () => `ch_${input.orderId}`)
          await ctx.state.set('charge', { chargeId, attempts: ctx.attempt })
          ctx.logger.info('card charged', { chargeId, amount: total })
          return { chargeId }
        },
      },
      payment: {
        needs: ['charge'],
        handler: async (input: OrderInput, ctx) => {
          ctx.logger.info('waiting for payment.confirmed', { orderId: input.orderId })
          const e = await ctx.await.event({ kind: 'payment.confirmed', match: { 'data.orderId': input.orderId }, timeout: '1h' })
          await ctx.state.set('paid', true)
          return { confirmedBy: e.id }
        },
      },
      'reserve-stock': {
        needs: ['payment'],
        handler: async (input: OrderInput, ctx) => {
          ctx.logger.info('waiting for a warehouse slot', { ms: timings.warehouseMs })
          await ctx.await.time(timings.warehouseMs)
          return { reserved: input.items ?? [] }
        },
      },
      notify: {
        needs: ['payment'],
        handler: async (input: OrderInput, ctx) => {
          const messageId = await ctx.do('send-email', async () => `msg_${input.orderId}`)
          await ctx.emit('order.notified', { orderId: input.orderId, messageId })
          ctx.logger.info('customer notified', { messageId })
          return { messageId }
        },
      },
      approval: {
        needs: ['payment'],
        handler: async (input: OrderInput, ctx) => {
          const t = await ctx.await.trigger({ type: 'webhook', payload: { orderId: input.orderId }, timeout: '1h' })
          const curl = `curl -X POST ${baseUrl}/flows/triggers/${t.id} -H 'content-type: application/json' -d '{"approved":true}'`
          ctx.logger.info('waiting for approval', { trigger: t.id, curl })
          const decision = (await t.wait()) as { approved?: boolean } | undefined
          if (!decision?.approved) throw new NonRetriableError(`order ${input.orderId} was not approved: ${JSON.stringify(decision)}`)
          return decision
        },
      },
      ship: {
        needs: ['reserve-stock', 'notify', 'approval'],
        handler: async (input: OrderInput, ctx) => {
          const { chargeId } = ctx.results.charge as { chargeId: string }
          const tracking = await ctx.do('book-courier', async () => `trk_${input.orderId}`)
          await ctx.state.set('tracking', tracking)
          ctx.logger.info('shipped', { tracking, chargeId })
          return { tracking }
        },
      },
    },
  })
}

/** Stock levels the `restock` flow checks (a stand-in for a warehouse API). */
const STOCK: Record<string, number> = { notebook: 12, pen: 3, stapler: 0 }

/**
 * The demo's scheduled flow: `restock`, started by the in-code schedule `restock-check`
 * every 30 s (ticks aligned to the clock, one run per tick however many processes run it;
 * `overlap: 'skip'` records a tick as skipped while the last check still runs).
 *
 * @example
 * ```ts
 * const runner = createRunner({ store, flows: [restockFlow({ timings: LIVE_TIMINGS })] })
 * await runner.schedules.pause('restock-check')
 * ```
 */
export function restockFlow(opts: { timings: DemoTimings }) {
  return defineFlow({
    name: 'restock',
    schedules: [
      {
        id: 'restock-check',
        every: opts.timings.restockEvery ?? '30s',
        overlap: 'skip',
        input: (tick: ScheduleTick) => ({ tick: tick.at.toISOString(), threshold: 5 }),
      },
    ],
    steps: {
      check: {
        handler: async (input: { tick?: string; threshold?: number } | undefined, ctx) => {
          const threshold = input?.threshold ?? 5
          const low = Object.entries(STOCK)
            .filter(([, count]) => count < threshold)
            .map(([item]) => item)
          ctx.logger.info('stock checked', { low, tick: input?.tick ?? 'run now' })
          await ctx.state.set('low', low)
          return { low }
        },
      },
    },
  })
}
