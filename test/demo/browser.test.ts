// The demo page in headless Chromium: start an order, confirm the payment and approve it with the
// page's buttons, watch the live timeline reach `completed`; follow the link of the `bill` step to
// one of the order's `invoice` child runs and back to the order from the child's page; cancel a
// second run while it awaits its invoice runs (they are canceled with it); see a customer's second order queued behind the first (and why), another
// customer's order run meanwhile, and the queued order admitted live when the first ends. Saves
// the screenshot used by docs/demo.md (docs/images/demo.png).
import { resolve } from 'node:path'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { DemoServer } from '../../examples/order-approval/server.js'
import { openDemoPage } from '../fixtures/demoPage.js'

// The committed screenshot is rewritten only on request (UPDATE_SCREENSHOT=1); otherwise it goes to .tmp/.
const screenshot = process.env.UPDATE_SCREENSHOT
  ? resolve(import.meta.dirname, '../../docs/images/demo.png')
  : resolve(import.meta.dirname, '../../.tmp/demo.png')
const T = { timeout: 60_000 }
const STEPS = ['validate', 'bill', 'charge', 'payment', 'reserve-stock', 'notify', 'approval', 'ship']
/** The lines the page's *Start order* sends: one `invoice` child run each. */
const LINES = [
  { sku: 'notebook', qty: 2, amount: 25 },
  { sku: 'pen', qty: 5, amount: 17.5 },
]

let demo: DemoServer
let page: Page
let close = async () => {}
const printed: string[] = []

beforeAll(async () => {
  // Retries of 1.5 s and 3 s, a 2 s timer, invoice runs of 2 s: short, but long enough to see them on the page.
  ;({ demo, page, close } = await openDemoPage({ retryDelayMs: 1500, warehouseMs: 2000, invoiceMs: 2000 }, printed))
}, 120_000)

afterAll(() => close())

const stepRow = (name: string) => page.locator(`.row.step[data-step="${name}"]`)

/** Clicks *Start order* for `customerId` and returns the id of the run the page opens. */
async function startOrder(customerId: string): Promise<string> {
  const shown = await page.locator('#run-id').textContent()
  await page.selectOption('#customer', customerId)
  await page.click('#start')
  await expect.poll(() => page.locator('#run-id').textContent(), T).not.toBe(shown)
  return (await page.locator('#run-id').textContent()) as string
}

async function cancelByHttp(runId: string): Promise<void> {
  const res = await fetch(`${demo.url}/flows/runs/${runId}/cancel`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ reason: 'ended by the test' }),
  })
  expect(res.status).toBeLessThan(300)
}

describe('demo page', () => {
  it('serves the page and its bundled script (no CDN)', async () => {
    const html = await (await fetch(demo.url)).text()
    expect(html).toContain('<script type="module" src="/app.js">')
    expect(html).not.toMatch(/https?:\/\//)
    const js = await fetch(`${demo.url}/app.js`)
    expect(js.headers.get('content-type')).toMatch(/javascript/)
    expect((await js.text()).length).toBeGreaterThan(1000)
    // the dashboard beside it, on the same /flows API, linked from the page
    expect(html).toContain('href="/dashboard/"')
    const dashboard = await fetch(`${demo.url}/dashboard/`)
    expect(dashboard.status).toBe(200)
    const dashboardHtml = await dashboard.text()
    expect(dashboardHtml).toContain('<script type="module" src="/dashboard/app.js"></script>')
    expect(dashboardHtml).toContain('"apiBase":"/flows"')
  })

  it('runs an order live: retries, payment event, timer, approval trigger, fan-in, completed', async () => {
    await page.goto(demo.url)
    await page.click('#start')
    await expect.poll(() => page.locator('#run-id').textContent(), T).toMatch(/^[A-Za-z0-9]{21}$/)
    const runId = (await page.locator('#run-id').textContent()) as string

    // bill awaits its two invoice child runs (step.pending), linked from its row while they run
    const billing = page.locator('.row.step[data-step="bill"][data-status="awaiting"] .detail')
    await billing.filter({ hasText: '2 child runs' }).waitFor(T)
    await expect.poll(() => billing.locator('a.child-run').count(), T).toBe(2)

    // charge fails twice: the page shows the retry countdown from nextRetryAt
    await page.locator('.row.step[data-step="charge"][data-status="retrying"] .detail', { hasText: /retry in \d+\.\d s/ }).waitFor(T)

    // payment awaits the payment.confirmed event: the button enables, a click POSTs /flows/events
    await page.locator('#pay:enabled').waitFor(T)
    await expect.poll(() => stepRow('payment').locator('.detail').textContent(), T).toContain('payment.confirmed')
    await page.click('#pay')

    // approval awaits a webhook trigger: the page shows the curl line; the server printed it too
    await page.locator('#approve:enabled').waitFor(T)
    // bill invoked one invoice run per line: its row links both, completed (before the screenshot)
    await expect.poll(() => stepRow('bill').locator('a.child-run[data-status="completed"]').count(), T).toBe(LINES.length)
    // the screenshot for docs/demo.md: charge retried, payment done, timer and trigger awaited in parallel
    await page.screenshot({ path: screenshot, fullPage: true })
    const curl = (await page.locator('#curl').textContent()) ?? ''
    const triggerId = /\/flows\/triggers\/([A-Za-z0-9]{21})/.exec(curl)?.[1]
    expect(triggerId).toBeDefined()
    expect(curl).toContain(
      `curl -X POST ${demo.url}/flows/triggers/${triggerId} -H 'content-type: application/json' -d '{"approved":true}'`,
    )
    expect(printed.join('\n')).toContain(`/flows/triggers/${triggerId}`)
    await page.click('#approve')

    await expect.poll(() => page.locator('#run-status').textContent(), T).toBe('completed')
    expect(await page.locator('.row.step').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-step')))).toEqual(STEPS)
    for (const name of STEPS) expect(await stepRow(name).getAttribute('data-status')).toBe('completed')
    expect(await stepRow('charge').locator('.attempt').textContent()).toBe('#3')
    expect(await page.locator('#logs').textContent()).toContain('card processor timed out')
    expect(await page.locator('#state').textContent()).toContain('"tracking"')
    await expect.poll(() => page.locator(`#runs li[data-run="${runId}"] .badge`).textContent(), T).toBe('completed')
    expect(printed.filter((l) => l.startsWith('pageerror'))).toEqual([])
  }, 300_000)

  it("links each invoice child run from the bill step's row; a child's page links back to its order", async () => {
    const orderRunId = (await page.locator('#run-id').textContent()) as string
    expect(await page.locator('#run-name').textContent()).toBe('order')
    expect(await page.locator('#run-meta').textContent()).toContain('2 child runs')
    expect(await page.locator('#parent-note').isHidden()).toBe(true)
    // the links come from the order's step.await.run events, in invoke order; the server lists the same children
    const links = stepRow('bill').locator('a.child-run')
    const linked = await links.evaluateAll((as) => as.map((a) => [a.getAttribute('data-run'), a.getAttribute('data-flow')]))
    const res = await fetch(`${demo.url}/flows/runs/${orderRunId}/children`)
    expect(res.status).toBe(200)
    const { children } = (await res.json()) as { children: Array<{ runId: string; flow: string; status: string; parent: unknown }> }
    expect(linked).toEqual(children.map((c) => [c.runId, 'invoice']))
    for (const c of children) expect(c).toMatchObject({ flow: 'invoice', status: 'completed', parent: { runId: orderRunId, step: 'bill' } })
    expect(await stepRow('bill').locator('.detail .result').textContent()).toBe('→ {"invoices":2,"total":42.5}')

    // follow the second link: the child run, with its result and its parent
    const child = children[1]?.runId as string
    await links.nth(1).click()
    await expect.poll(() => page.locator('#run-id').textContent(), T).toBe(child)
    expect(await page.locator('#run-name').textContent()).toBe('invoice')
    await expect.poll(() => page.locator('#run-status').textContent(), T).toBe('completed')
    expect(await page.locator('.row.step').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-step')))).toEqual(['total'])
    expect(JSON.parse((await page.locator('#result').textContent()) as string)).toEqual({ total: LINES[1] })
    expect(await page.locator('#logs').textContent()).toContain('line priced')
    expect(page.url()).toContain(`#run=${child}`)
    // the runs list shows the invoice flow's runs, this one marked as a child
    await expect.poll(() => page.locator('#runs-flow').textContent(), T).toBe('invoice')
    await expect.poll(() => page.locator(`#runs li[data-run="${child}"] .rel`).textContent(), T).toBe(' · child')
    const note = page.locator('#parent-note')
    expect(await note.isVisible()).toBe(true)
    expect(await note.textContent()).toBe(`child run: invoked by step bill of run ${orderRunId.slice(0, 10)}`)
    await page.screenshot({ path: resolve(import.meta.dirname, '../../.tmp/demo-child.png'), fullPage: true })

    // and back to the order
    await page.click('#parent-link')
    await expect.poll(() => page.locator('#run-id').textContent(), T).toBe(orderRunId)
    await expect.poll(() => page.locator('#run-status').textContent(), T).toBe('completed')
    await expect.poll(() => page.locator('#runs-flow').textContent(), T).toBe('order')
    expect(await note.isHidden()).toBe(true)
    await expect.poll(() => links.count(), T).toBe(LINES.length)
    await expect.poll(() => page.locator(`#runs li[data-run="${orderRunId}"] .rel`).textContent(), T).toBe(' · 2 child runs')
    expect(printed.filter((l) => l.startsWith('pageerror'))).toEqual([])
  }, 120_000)

  it('cancels a run from the page, and with it the invoice runs it awaits', async () => {
    const previous = await page.locator('#run-id').textContent()
    await page.click('#start')
    await expect.poll(() => page.locator('#run-id').textContent(), T).not.toBe(previous)
    // canceled while bill awaits its invoice runs: they are canceled with it
    await expect.poll(() => page.locator('.row.step[data-step="bill"][data-status="awaiting"] a.child-run').count(), T).toBe(2)
    await page.locator('#cancel:enabled').waitFor(T)
    await page.click('#cancel')
    await expect.poll(() => page.locator('#run-status').textContent(), T).toBe('canceled')
    await expect.poll(() => stepRow('bill').locator('a.child-run[data-status="canceled"]').count(), T).toBe(2)
    for (const id of await stepRow('bill')
      .locator('a.child-run')
      .evaluateAll((as) => as.map((a) => a.getAttribute('data-run')))) {
      const { state } = (await (await fetch(`${demo.url}/flows/runs/${id}`)).json()) as { state: { cancelReason?: string } }
      expect(state.cancelReason).toBe('parent canceled')
    }
    // steps in flight when the run was canceled show as canceled (the reducer's rule), none as still running
    const statuses = await page.locator('.row.step').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-status')))
    expect(statuses).toHaveLength(STEPS.length)
    for (const st of statuses) expect(['completed', 'canceled']).toContain(st)
    expect(statuses).toContain('canceled')
    await expect.poll(() => page.locator('#cancel').isDisabled(), T).toBe(true)
    expect(await page.locator('#pay').isDisabled()).toBe(true)
  }, 300_000)

  it("queues a customer's second order, says why, runs other customers meanwhile, admits it live when the first ends", async () => {
    // c-1's first order holds the customer's slot while it awaits the payment
    const first = await startOrder('c-1')
    await page.locator('#pay:enabled').waitFor(T)
    expect(await page.locator('#queue-note').isHidden()).toBe(true)
    // another customer's order is not held up
    const other = await startOrder('c-2')
    await expect.poll(() => page.locator('#run-status').textContent(), T).toMatch(/^(running|retrying|awaiting)$/)
    expect(await page.locator('#queue-note').isHidden()).toBe(true)

    // c-1's second order waits: status queued, and the reason from the reduced state (state.queued)
    const second = await startOrder('c-1')
    await expect.poll(() => page.locator('#run-status').textContent(), T).toBe('queued')
    const note = page.locator('#queue-note')
    expect(await note.isVisible()).toBe(true)
    expect(await note.textContent()).toBe('queued — waiting for a concurrency slot (key c-1): it starts when a run holding one ends')
    expect(await note.getAttribute('data-reason')).toBe('concurrency')
    for (const st of await page.locator('.row.step').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-status'))))
      expect(st).toBe('pending')
    await expect.poll(() => page.locator(`#runs li[data-run="${second}"] .badge`).textContent(), T).toBe('queued')
    expect(await page.locator('#cancel').isEnabled()).toBe(true)
    // the server's run index agrees
    const queued = await (await fetch(`${demo.url}/flows/order/runs?status=queued`)).json()
    expect((queued as { runs: { runId: string }[] }).runs.map((r) => r.runId)).toEqual([second])

    // the limits table, when the handler serves GET /flows/order/limits (hidden otherwise)
    const limitsRes = await fetch(`${demo.url}/flows/order/limits`)
    const box = page.locator('#limits-box')
    const row = (key: string) => page.locator(`#limits tr[data-scope="flow"][data-kind="concurrency"][data-key="${key}"]`)
    if (limitsRes.status === 404) {
      await expect.poll(() => box.isHidden(), T).toBe(true)
    } else {
      expect(limitsRes.status).toBe(200)
      expect((await limitsRes.json()).limits).toEqual(
        expect.arrayContaining([
          { scope: 'flow', kind: 'concurrency', key: 'c-1', active: 1, queued: 1 },
          { scope: 'flow', kind: 'concurrency', key: 'c-2', active: 1, queued: 0 },
        ]),
      )
      await expect.poll(() => box.isVisible(), T).toBe(true)
      await expect.poll(() => row('c-1').locator('td.queued').textContent(), T).toBe('1')
      expect(await row('c-1').locator('td.active').textContent()).toBe('1')
    }
    await page.screenshot({ path: resolve(import.meta.dirname, '../../.tmp/demo-queued.png'), fullPage: true })

    // the first order ends (canceled elsewhere): the page, still on the second, sees it admitted
    await cancelByHttp(first)
    await expect.poll(() => page.locator('#run-status').textContent(), T).not.toBe('queued')
    expect(await note.isHidden()).toBe(true)
    await page.locator('#pay:enabled').waitFor(T)
    expect(await page.locator('#run-status').textContent()).toBe('awaiting')
    expect(await stepRow('validate').getAttribute('data-status')).toBe('completed')
    await expect.poll(() => page.locator(`#runs li[data-run="${second}"] .badge`).textContent(), T).toBe('awaiting')
    if (limitsRes.status !== 404) await expect.poll(() => row('c-1').locator('td.queued').textContent(), T).toBe('0')

    await cancelByHttp(second)
    await cancelByHttp(other)
    await expect.poll(() => page.locator('#run-status').textContent(), T).toBe('canceled')
    expect(printed.filter((l) => l.startsWith('pageerror'))).toEqual([])
  }, 300_000)
  it('reruns a failed order from its failed step: the steps before it copied, the new run linked to the old one', async () => {
    await page.goto(demo.url)
    await page.check('#decline')
    const failed = await startOrder('c-2')
    await page.uncheck('#decline')
    // charge fails for good on the flag: the page offers a rerun from it
    await expect.poll(() => page.locator('#run-status').textContent(), T).toBe('failed')
    expect(await stepRow('charge').getAttribute('data-status')).toBe('failed')
    const rerun = page.locator('#rerun')
    await expect.poll(() => rerun.isVisible(), T).toBe(true)
    expect(await rerun.textContent()).toBe('Rerun from charge')
    await page.click('#rerun')
    await expect.poll(() => page.locator('#run-id').textContent(), T).not.toBe(failed)
    const again = (await page.locator('#run-id').textContent()) as string
    await expect.poll(() => page.locator('#run-meta').textContent(), T).toContain(`rerun of ${failed.slice(0, 10)} from charge`)
    // validate and bill are copied (step.completed with data.copied), charge runs again (its flaky retries)
    await page.locator('.row.step[data-step="charge"][data-status="retrying"]').waitFor(T)
    expect(await stepRow('validate').getAttribute('data-status')).toBe('completed')
    expect(await stepRow('bill').getAttribute('data-status')).toBe('completed')
    expect(await stepRow('validate').locator('.detail .copied').count()).toBe(1)
    expect(await stepRow('charge').locator('.detail .copied').count()).toBe(0)
    expect(await rerun.isHidden()).toBe(true)
    const { events } = (await (await fetch(`${demo.url}/flows/runs/${again}/events`)).json()) as {
      events: Array<{ kind: string; step?: string; data: { copied?: boolean; rerunOf?: unknown } }>
    }
    expect(events[0]?.data.rerunOf).toEqual({ runId: failed, from: 'charge' })
    expect(events.filter((e) => e.data?.copied).map((e) => e.step)).toEqual(['validate', 'bill'])
    // charge may already be on its next attempt (its retry delay is short): every start is charge's
    const started = events.filter((e) => e.kind === 'step.started').map((e) => e.step)
    expect(started.length).toBeGreaterThan(0)
    expect(new Set(started)).toEqual(new Set(['charge']))
    await cancelByHttp(again)
    await expect.poll(() => page.locator('#run-status').textContent(), T).toBe('canceled')
    expect(printed.filter((l) => l.startsWith('pageerror'))).toEqual([])
  }, 120_000)
})
