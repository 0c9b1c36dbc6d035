// @leanflow/dashboard in headless Chromium while its API is down: a run's live stream dropped
// (a proxy's 502, a server gone) is said so and followed again, without loss, once the API is back;
// a view whose call gets no answer, or an HTML page, names the call; a misplaced apiBase is named.
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchChromium } from '../helpers/chromium.js'
import { useRedisServer } from '../helpers/redisServer.js'
import { pageKit } from './dashboardPage.js'
import { type DashboardServer, startDashboardServer } from './dashboardServer.js'

const T = { timeout: 15_000 }
const redis = useRedisServer()
let server: DashboardServer
let browser: Browser
let page: Page
const pageErrors: string[] = []
const { open, text, stepStatus, start } = pageKit(
  () => server,
  () => page,
)

beforeAll(async () => {
  ;[server, browser] = await Promise.all([startDashboardServer(redis.url, 'dashdown'), launchChromium()])
  page = await browser.newPage()
  page.on('pageerror', (e) => pageErrors.push(e.message))
}, 60_000)

afterAll(async () => {
  await browser?.close()
  await server?.close()
})

describe('dashboard while its API is down', () => {
  it('run view: followed again after an API outage (streams dropped, 502 from a proxy), live to its end without loss', async () => {
    const id = await start('order', { orderId: 'o-down' })
    // a watcher may follow the stream (runs.stream), not read the log otherwise (runs.read): that is enough
    await page.context().addCookies([{ name: 'role', value: 'watcher', url: server.url }])
    await open(`#/runs/${id}`)
    await expect.poll(() => stepStatus('payment'), T).toBe('awaiting')
    server.setApiDown(true)
    try {
      // EventSource gives up on a 502: the page says so and keeps what it has
      await expect.poll(() => page.getByTestId('run-stream-error').count(), T).toBe(1)
      expect(await text('run-stream-error')).toMatch(/^Lost the run's live stream \(HTTP 502\): following it again/)
      expect(await stepStatus('charge')).toBe('completed')
      await server.runner.cancel(id, 'canceled during the outage')
    } finally {
      server.setApiDown(false)
    }
    // back: the run followed again from its last event shown, to its end, each event once
    await expect.poll(() => text('run-status'), T).toBe('canceled')
    expect(await stepStatus('payment')).toBe('canceled')
    expect(await stepStatus('charge')).toBe('completed')
    expect(await page.getByTestId('run-stream-error').count()).toBe(0)
    await page.context().clearCookies()
    const events = (await (await fetch(`${server.url}/flows/runs/${id}/events`)).json()) as { events: Array<{ id: string }> }
    const shown = await page.getByTestId('events').locator('tbody tr td:first-child').allTextContents()
    expect(shown).toEqual(events.events.map((e) => e.id))
  })

  it('run view: says so while the API gives no answer at all (a server gone; EventSource retries on its own), and no more once it is back', async () => {
    const id = await start('order', { orderId: 'o-gone' })
    await open(`#/runs/${id}`)
    await expect.poll(() => stepStatus('payment'), T).toBe('awaiting')
    server.setApiDown('gone')
    try {
      await expect.poll(() => page.getByTestId('run-stream-error').count(), T).toBe(1)
      expect(await text('run-stream-error')).toMatch(/^Lost the run's live stream \(no answer\): following it again/)
      await server.runner.cancel(id, 'canceled while the API was gone')
    } finally {
      server.setApiDown(false)
    }
    await expect.poll(() => text('run-status'), T).toBe('canceled')
    await expect.poll(() => page.getByTestId('run-stream-error').count(), T).toBe(0)
    expect(pageErrors).toEqual([])
  })

  it('a view whose API call gets no answer at all names the call, not the browser\'s bare "Failed to fetch"', async () => {
    server.setApiDown('gone')
    try {
      await open('')
      await expect
        .poll(() => page.locator('main .error').textContent(), T)
        .toMatch(/^GET \/flows: no answer \(the API is down or unreachable\)/)
    } finally {
      server.setApiDown(false)
    }
  })

  it("a proxy's HTML error page is named by its status, not shown as markup; a page in the API's place says apiBase is wrong", async () => {
    server.setApiDown(true)
    try {
      await open('')
      await expect.poll(() => page.locator('main .error').textContent(), T).toBe('GET /flows: HTTP 502 Bad Gateway')
    } finally {
      server.setApiDown(false)
    }
    // a page where the API should be (apiBase wrong) says so, not "Cannot read properties of undefined"
    await page.goto(`${server.url}/misplaced/`)
    await expect
      .poll(() => page.locator('main .error').textContent(), T)
      .toMatch(/^GET \/dashboard answered text\/html; charset=utf-8, not the leanflow API's JSON: set the dashboard's apiBase/)
    // an apiBase where the API's handler has no route: every view says apiBase, a run's never "No run" (it exists)
    const id = await start('quick', { ms: 1 })
    // the run view too, for an app's catch-all page in the API's place: it said "Lost the run's live
    // stream (HTTP 200)" and retried for ever
    await page.goto('about:blank')
    await page.goto(`${server.url}/caught/#/runs/${id}`)
    await expect
      .poll(() => text('run-error'), T)
      .toMatch(/^GET \/app\/runs\/.* answered text\/html, not the leanflow API's JSON: set the dashboard's apiBase/)
    await page.goto(`${server.url}/offbase/#/runs/${id}`)
    await expect.poll(() => text('run-error'), T).toMatch(/Is the dashboard's apiBase \(\/api\) where createHandler is mounted\?/)
    expect(await text('run-error')).not.toMatch(/No run/)
    await page.goto('about:blank')
    await page.goto(`${server.url}/offbase/`)
    await expect.poll(() => page.locator('main .error').textContent(), T).toMatch(/No leanflow route at .*apiBase \(\/api\)/)
    // an authorize that redirects to a login page is said as such (it was "apiBase is wrong")
    await page.goto('about:blank')
    await page.goto(`${server.url}/signin-first/`)
    await expect
      .poll(() => page.locator('main .error').textContent(), T)
      .toBe(
        "GET /guarded answered with a redirect (to a login page?): sign in and reload, or have the API's authorize answer its calls with 401.",
      )
    await page.goto('about:blank')
    await page.goto(`${server.url}/signin-first/#/runs/${id}`)
    await expect.poll(() => text('run-error'), T).toMatch(/^GET \/guarded\/runs\/.* answered with a redirect \(to a login page\?\)/)
  })

  it('the schedules view and its link say the API is down while it is, and no more once it is back', async () => {
    // the view reads them every 3 s: its error is that of the last read
    const shownErrors = () => page.locator('main .error:not(:empty)').allTextContents()
    server.setApiDown(true)
    try {
      await open('#/schedules')
      await expect.poll(shownErrors, T).toEqual(['GET /flows/schedules: HTTP 502 Bad Gateway'])
      expect(await page.getByTestId('nav-schedules').count()).toBe(0) // not known yet
    } finally {
      server.setApiDown(false)
    }
    await expect.poll(() => page.getByTestId('schedule-tick-hourly').count(), T).toBe(1)
    await expect.poll(shownErrors, T).toEqual([])
    // the navigation's Schedules link, unknown while the API was down, is there on the next route
    await page.locator('a.brand').click()
    await expect.poll(() => page.getByTestId('nav-schedules').count(), T).toBe(1)
  })
})
