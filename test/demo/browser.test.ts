// The demo page in headless Chromium: start an order, confirm the payment and approve it with the
// page's buttons, watch the live timeline reach `completed`; cancel a second run. Saves the
// screenshot used by docs/demo.md (docs/images/demo.png).
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
const STEPS = ['validate', 'charge', 'payment', 'reserve-stock', 'notify', 'approval', 'ship']

let demo: DemoServer
let page: Page
let close = async () => {}
const printed: string[] = []

beforeAll(async () => {
  // Retries of 1.5 s and 3 s and a 2 s timer: short, but long enough to see them on the page.
  ;({ demo, page, close } = await openDemoPage({ retryDelayMs: 1500, warehouseMs: 2000 }, printed))
}, 120_000)

afterAll(() => close())

const stepRow = (name: string) => page.locator(`.row.step[data-step="${name}"]`)

describe('demo page', () => {
  it('serves the page and its bundled script (no CDN)', async () => {
    const html = await (await fetch(demo.url)).text()
    expect(html).toContain('<script type="module" src="/app.js">')
    expect(html).not.toMatch(/https?:\/\//)
    const js = await fetch(`${demo.url}/app.js`)
    expect(js.headers.get('content-type')).toMatch(/javascript/)
    expect((await js.text()).length).toBeGreaterThan(1000)
  })

  it('runs an order live: retries, payment event, timer, approval trigger, fan-in, completed', async () => {
    await page.goto(demo.url)
    await page.click('#start')
    await expect.poll(() => page.locator('#run-id').textContent(), T).toMatch(/^[A-Za-z0-9]{21}$/)
    const runId = (await page.locator('#run-id').textContent()) as string

    // charge fails twice: the page shows the retry countdown from nextRetryAt
    await page.locator('.row.step[data-step="charge"][data-status="retrying"] .detail', { hasText: /retry in \d+\.\d s/ }).waitFor(T)

    // payment awaits the payment.confirmed event: the button enables, a click POSTs /flows/events
    await page.locator('#pay:enabled').waitFor(T)
    await expect.poll(() => stepRow('payment').locator('.detail').textContent(), T).toContain('payment.confirmed')
    await page.click('#pay')

    // approval awaits a webhook trigger: the page shows the curl line; the server printed it too
    await page.locator('#approve:enabled').waitFor(T)
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

  it('cancels a run from the page', async () => {
    const previous = await page.locator('#run-id').textContent()
    await page.click('#start')
    await expect.poll(() => page.locator('#run-id').textContent(), T).not.toBe(previous)
    await page.locator('#cancel:enabled').waitFor(T)
    await page.click('#cancel')
    await expect.poll(() => page.locator('#run-status').textContent(), T).toBe('canceled')
    // steps in flight when the run was canceled show as canceled (the reducer's rule), none as still running
    const statuses = await page.locator('.row.step').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-status')))
    expect(statuses).toHaveLength(STEPS.length)
    for (const st of statuses) expect(['completed', 'canceled']).toContain(st)
    expect(statuses).toContain('canceled')
    await expect.poll(() => page.locator('#cancel').isDisabled(), T).toBe(true)
    expect(await page.locator('#pay').isDisabled()).toBe(true)
  }, 300_000)
})
