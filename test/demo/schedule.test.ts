// The demo page's schedule in headless Chromium: the `restock-check` schedule (every 2 s here)
// shows its cadence and next tick; its last run links to the run; Pause (the page POSTs
// /flows/schedules/:id/pause) stops the ticks and shows no next tick, Run now starts a run while
// paused, Resume brings the ticks back. The server's GET /flows/schedules agrees at each step.
import { resolve } from 'node:path'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ScheduleRow } from '../../examples/order-approval/page/api.js'
import type { DemoServer } from '../../examples/order-approval/server.js'
import { openDemoPage } from '../fixtures/demoPage.js'

const T = { timeout: 30_000 }
const ID = 'restock-check'

let demo: DemoServer
let page: Page
let close = async () => {}
const printed: string[] = []

beforeAll(async () => {
  ;({ demo, page, close } = await openDemoPage({ retryDelayMs: 50, warehouseMs: 200, restockEvery: '2s' }, printed))
}, 120_000)

afterAll(() => close())

const row = () => page.locator(`#schedules li[data-schedule="${ID}"]`)

async function serverSide(): Promise<ScheduleRow> {
  const res = await fetch(`${demo.url}/flows/schedules`)
  expect(res.status).toBe(200)
  const found = ((await res.json()) as { schedules: ScheduleRow[] }).schedules.find((s) => s.id === ID)
  expect(found).toBeDefined()
  return found as ScheduleRow
}

async function restockRuns(): Promise<string[]> {
  const res = await fetch(`${demo.url}/flows/restock/runs?limit=1000`)
  return ((await res.json()) as { runs: { runId: string }[] }).runs.map((r) => r.runId)
}

describe('demo page: the restock-check schedule', () => {
  it('shows the schedule, its next tick and its last run, linked to the run', async () => {
    await page.goto(demo.url)
    await row().waitFor(T)
    expect(await row().locator('.sched-cadence').textContent()).toBe('restock · every 2s')
    expect(await row().locator('.badge').textContent()).toBe('active')
    await expect.poll(() => row().locator('.sched-next').textContent(), T).toMatch(/^next \d\d:\d\d:\d\d \((in \d+\.\d s|now)\)$/)

    // a tick fires within 2 s: the row links its run, and the link opens it
    const link = row().locator('a.last-run')
    await link.waitFor(T)
    // read and clicked in one turn of the page: the next tick (2 s) may re-render the row between two calls
    const runId = (await link.evaluate((a: HTMLAnchorElement) => {
      a.click()
      return a.dataset.run
    })) as string
    expect(runId).toMatch(/^[A-Za-z0-9]{21}$/)
    expect((await serverSide()).lastRun?.runId).toBeDefined()
    await expect.poll(() => page.locator('#run-id').textContent(), T).toBe(runId)
    expect(await page.locator('#run-name').textContent()).toBe('restock')
    await expect.poll(() => page.locator('#run-status').textContent(), T).toBe('completed')
    expect(await page.locator('#run-meta').textContent()).toContain(`of schedule ${ID}`)
    expect(await page.locator('#logs').textContent()).toContain('stock checked')
    await expect.poll(() => page.locator('#runs-flow').textContent(), T).toBe('restock')
    // for a look at the page (not committed)
    await page.screenshot({ path: resolve(import.meta.dirname, '../../.tmp/demo-schedule.png'), fullPage: true })
    expect(printed.filter((l) => l.startsWith('pageerror'))).toEqual([])
  }, 120_000)

  it('pauses: no next tick, no new runs; Run now still starts one', async () => {
    await row().locator('button.toggle', { hasText: 'Pause' }).click()
    await expect.poll(() => row().getAttribute('data-paused'), T).toBe('true')
    expect(await row().locator('.badge').textContent()).toBe('paused')
    expect(await row().locator('.sched-next').textContent()).toBe('paused: no next tick')
    expect(await row().locator('button.toggle').textContent()).toBe('Resume')
    expect(await serverSide()).toMatchObject({ paused: true, nextRunAt: null })

    // a tick already being fired when the pause landed may still start its run: count after it
    await new Promise((r) => setTimeout(r, 500))
    const before = await restockRuns()
    await new Promise((r) => setTimeout(r, 2_500))
    expect(await restockRuns()).toEqual(before)
    // the countdown ticks on without a next tick
    expect(await row().locator('.sched-next').textContent()).toBe('paused: no next tick')

    // Run now: a run outside the cadence, also while paused; the page opens it
    const shown = await page.locator('#run-id').textContent()
    await row().locator('button.trigger').click()
    await expect.poll(() => page.locator('#run-id').textContent(), T).not.toBe(shown)
    const manual = (await page.locator('#run-id').textContent()) as string
    await expect.poll(() => page.locator('#run-status').textContent(), T).toBe('completed')
    expect(await restockRuns()).toContain(manual)
    expect((await serverSide()).paused).toBe(true)
    expect(await row().getAttribute('data-paused')).toBe('true')
  }, 120_000)

  it('resumes: a next tick again, and the ticks start runs again', async () => {
    const last = await row().locator('a.last-run').getAttribute('data-run')
    await row().locator('button.toggle', { hasText: 'Resume' }).click()
    await expect.poll(() => row().getAttribute('data-paused'), T).toBe('false')
    expect(await row().locator('.badge').textContent()).toBe('active')
    expect(await row().locator('.sched-next').textContent()).toMatch(/^next \d\d:\d\d:\d\d/)
    expect(await row().locator('button.toggle').textContent()).toBe('Pause')
    const info = await serverSide()
    expect(info.paused).toBe(false)
    expect(Date.parse(info.nextRunAt as string)).toBeGreaterThan(Date.now() - 2_000)

    // the next tick's run shows as the last run (the page refreshes every 3 s)
    await expect.poll(() => row().locator('a.last-run').getAttribute('data-run'), T).not.toBe(last)
    const fresh = (await row().locator('a.last-run').getAttribute('data-run')) as string
    expect(await restockRuns()).toContain(fresh)
    expect(printed.filter((l) => l.startsWith('pageerror'))).toEqual([])
  }, 120_000)
})
