// Renders the dashboard's screenshots in docs/images (dashboard-flows.png, dashboard-runs.png,
// dashboard-run.png, dashboard-dark.png) from the order-approval demo, in memory: a few orders driven through the
// runner API (one completed, one awaiting its approval after a retried charge, one canceled, one
// declined), then the dashboard in headless Chromium. Needs /usr/bin/chromium.
// Re-run by hand: node scripts/dashboard-screenshots.mjs
import { fileURLToPath } from 'node:url'
import type { EventRecord } from '@leanflow/core'
import { chromium } from 'playwright-core'
import { FAST_TIMINGS } from './flows.js'
import { startDemoServer } from './server.js'

const images = fileURLToPath(new URL('../../docs/images/', import.meta.url))
const demo = await startDemoServer({ port: 0, host: '127.0.0.1', timings: { ...FAST_TIMINGS, warehouseMs: 400 }, log: () => {} })
const { runner, store } = demo.backend

const order = (n: number, customerId: string, extra: Record<string, unknown> = {}) => ({
  orderId: `o-${n}`,
  customerId,
  customer: customerId === 'c-1' ? 'Ada Lovelace' : 'Grace Hopper',
  amount: 42.5,
  items: ['notebook', 'pen'],
  lines: [
    { sku: 'notebook', qty: 2, unitPrice: 12.5 },
    { sku: 'pen', qty: 5, unitPrice: 3.5 },
  ],
  ...extra,
})

/** Follows a run, answering its payment event and (with `approve`) its approval trigger; returns at `until` or its end. */
async function drive(runId: string, orderId: string, approve: boolean, until?: (e: EventRecord) => boolean): Promise<void> {
  const signal = AbortSignal.timeout(30_000)
  for await (const e of store.follow(runId, { signal })) {
    if (e.kind === 'step.await.event') await runner.publishEvent({ kind: 'payment.confirmed', data: { orderId } })
    if (e.kind === 'step.await.trigger' && approve)
      await runner.resolveTrigger((e.data as { triggerId: string }).triggerId, { approved: true })
    if (until?.(e) || e.kind === 'flow.completed' || e.kind === 'flow.failed' || e.kind === 'flow.canceled') return
  }
}

const done = await runner.startFlow('order', order(1, 'c-1'))
await drive(done.runId, 'o-1', true)
const declined = await runner.startFlow('order', order(2, 'c-1', { declineCard: true }))
await drive(declined.runId, 'o-2', false, (e) => e.kind === 'step.failed' && (e.data as { willRetry?: boolean }).willRetry === false)
const canceled = await runner.startFlow('order', order(3, 'c-2'))
await drive(canceled.runId, 'o-3', false, (e) => e.kind === 'step.await.event')
await runner.cancel(canceled.runId, 'customer changed their mind')
const waiting = await runner.startFlow('order', order(4, 'c-2'))
await drive(waiting.runId, 'o-4', false, (e) => e.kind === 'step.await.trigger')
await new Promise((r) => setTimeout(r, 800)) // the warehouse timer and the notify step end

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
})
try {
  const shot = async (hash: string, file: string, opts: { dark?: boolean; wait: string; height?: number }) => {
    const page = await browser.newPage({ viewport: { width: 1280, height: opts.height ?? 860 }, colorScheme: opts.dark ? 'dark' : 'light' })
    await page.goto(`${demo.url}/dashboard/${hash}`)
    await page.locator(opts.wait).first().waitFor({ timeout: 15_000 })
    await page.waitForTimeout(500)
    await page.screenshot({ path: `${images}${file}` })
    await page.close()
    console.log(`wrote docs/images/${file}`)
  }
  await shot('#/', 'dashboard-flows.png', { wait: '[data-testid="flow-order"]', height: 300 })
  await shot('#/flows/order', 'dashboard-runs.png', { wait: '[data-testid="run-row"]', height: 420 })
  await shot(`#/runs/${waiting.runId}`, 'dashboard-run.png', {
    wait: '[data-testid="step-approval"][data-status="awaiting"]',
    height: 1500,
  })
  await shot(`#/runs/${waiting.runId}`, 'dashboard-dark.png', { dark: true, wait: '[data-testid="step-approval"][data-status="awaiting"]' })
} finally {
  await browser.close()
  await runner.cancel(waiting.runId, 'screenshots taken')
  await demo.close()
}
