// @leanflow/dashboard in headless Chromium, on real runs on a redis-server (one browser for the
// file): every view renders (flows with counts per status, a flow's runs, a run, schedules,
// limits); a run followed live to completion, its time travel, its child run and parent linked;
// each action (publish an event, resolve a trigger, cancel after the in-page confirmation, rerun
// from a step; a rerun a singleton took says so) and refused ones showing the API's message (a bad event kind, a trigger resolved
// twice, authorize refusing a viewer's cancel); a flow of 10,000 runs paged 50 at a time; deep
// links on a fresh load; keyboard access and dark mode.
import type { Browser, Page, Response as PwResponse } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchChromium } from '../helpers/chromium.js'
import { useRedisServer } from '../helpers/redisServer.js'
import { pageKit } from './dashboardPage.js'
import { addRuns, type DashboardServer, LONG_NAME, longNames, startDashboardServer } from './dashboardServer.js'

const T = { timeout: 15_000 }
const BULK = 10_000
const redis = useRedisServer()
let server: DashboardServer
let browser: Browser
let page: Page
/** A quick run started first, done by the time the flows view is opened. */
let done: string
const pageErrors: string[] = []

beforeAll(async () => {
  ;[server, browser] = await Promise.all([startDashboardServer(redis.url, 'dash'), launchChromium()])
  done = await start('quick', { ms: 1 })
  await addRuns(server.store, 'bulk', BULK)
  page = await browser.newPage()
  page.on('pageerror', (e) => pageErrors.push(e.message))
}, 60_000)

afterAll(async () => {
  await browser?.close()
  await server?.close()
})

const { open, text, stepStatus, start, apiMessage } = pageKit(
  () => server,
  () => page,
)

describe('dashboard', () => {
  it('flows view: each flow with its run counts per status', async () => {
    await open('')
    const bulkRow = page.getByTestId('flow-bulk')
    await expect.poll(() => bulkRow.locator('[data-count="all"]').textContent(), T).toBe(String(BULK))
    expect(await bulkRow.locator('[data-count="running"]').textContent()).toBe(String(BULK))
    expect(await bulkRow.locator('[data-count="completed"]').textContent()).toBe('0')
    await expect.poll(() => page.getByTestId('flow-quick').locator('[data-count="completed"]').textContent(), T).toBe('1')
    // the count links to that flow's runs with that status
    await page.getByTestId('flow-quick').locator('[data-count="completed"] a').click()
    await expect.poll(() => page.getByTestId('run-row').getAttribute('data-run'), T).toBe(done)
    expect(page.url()).toContain('#/flows/quick?status=completed')
    expect(await page.getByTestId('status-filter').inputValue()).toBe('completed')
  })

  it('runs view: 10,000 runs paged 50 at a time with before, newest first, never all loaded', async () => {
    const asked: string[] = []
    const onResponse = (r: PwResponse) => {
      if (r.url().includes('/flows/bulk/runs')) asked.push(new URL(r.url()).search)
    }
    page.on('response', onResponse)
    await open('#/flows/bulk')
    const rows = page.getByTestId('run-row')
    await expect.poll(() => rows.count(), T).toBe(50)
    const shown: string[] = []
    for (let p = 1; p <= 3; p++) {
      await expect.poll(() => text('page-number'), T).toBe(`page ${p}`)
      await expect.poll(() => page.getByTestId('runs').getAttribute('data-page'), T).toBe(String(p)) // its rows, read for it
      expect(await rows.count()).toBe(50)
      const ids = await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-run') as string))
      if (p > 1) expect(ids[0]).not.toBe(shown.at(-50))
      shown.push(...ids)
      if (p < 3) await page.getByTestId('page-older').click()
    }
    // the same runs, in the same order, as the API lists its first 150 (no run skipped or repeated)
    const api = (await (await fetch(`${server.url}/flows/bulk/runs?limit=150`)).json()) as { runs: Array<{ runId: string }> }
    expect(shown).toEqual(api.runs.map((r) => r.runId))
    await page.getByTestId('page-newer').click()
    await expect.poll(() => rows.first().getAttribute('data-run'), T).toBe(shown[50])
    await page.getByTestId('page-newest').click()
    await expect.poll(() => rows.first().getAttribute('data-run'), T).toBe(shown[0])
    page.off('response', onResponse)
    for (const q of asked) expect(Number(new URLSearchParams(q).get('limit'))).toBeLessThanOrEqual(100)
    // status filter: none of the bulk runs completed
    await page.getByTestId('status-filter').selectOption('completed')
    await expect.poll(() => page.getByTestId('runs').textContent(), T).toContain('No completed runs.')
    // flow filter
    await page.getByTestId('flow-filter').selectOption('quick')
    await expect.poll(() => text('runs-flow'), T).toBe('quick')
    expect(page.url()).toContain('#/flows/quick?status=completed')
  })

  it('search by run id: opens a known run, says so for an unknown one', async () => {
    const id = await start('quick', { ms: 1 })
    await open('#/flows/bulk')
    await page.getByTestId('run-search').fill('nosuchrun')
    await page.getByTestId('run-search').press('Enter')
    await expect.poll(() => text('run-search-error'), T).toBe('No run nosuchrun.')
    await page.getByTestId('run-search').fill(id)
    await page.getByTestId('run-search').press('Enter')
    await expect.poll(() => text('run-id'), T).toBe(id)
    expect(page.url()).toContain(`#/runs/${id}`)
    // a deep link to a run that does not exist says so
    await open('#/runs/nosuchrun')
    await expect.poll(() => text('run-error'), T).toBe('No run nosuchrun: it never existed, or retention removed it.')
  })

  it('run view: a deep link on a fresh load, followed live to completion; graph, timeline, logs, state, events, time travel', async () => {
    const id = await start('quick', { ms: 2500 })
    await open(`#/runs/${id}`)
    await expect.poll(() => text('run-status'), T).toBe('awaiting') // b waits 2.5 s
    expect(await stepStatus('a')).toBe('completed')
    expect(await stepStatus('b')).toBe('awaiting')
    expect(await page.getByTestId('step-b').locator('.detail').textContent()).toMatch(/^until /)
    await expect.poll(() => text('run-status'), T).toBe('completed')
    expect(await stepStatus('b')).toBe('completed')
    // one element per step; the graph's nodes use their own ids, with an edge a → b
    expect(await page.locator('[data-testid^="step-"][data-status]').count()).toBe(2)
    expect(await page.getByTestId('graph-step-b').getAttribute('data-status')).toBe('completed')
    expect(await page.locator('svg.graph .edge').count()).toBe(1)
    // logs with a level filter
    expect(await page.getByTestId('logs').locator('li.log').count()).toBe(3)
    await page.getByTestId('log-level').selectOption('warn')
    expect(await page.getByTestId('logs').textContent()).toContain('b waited')
    expect(await page.getByTestId('logs').locator('li.log').count()).toBe(1)
    expect(JSON.parse((await text('state')) as string)).toEqual({ seen: { by: 'a' } })
    const events = (await (await fetch(`${server.url}/flows/runs/${id}/events`)).json()) as { events: Array<{ id: string; kind: string }> }
    expect(await page.getByTestId('events').locator('tbody tr').count()).toBe(events.events.length)
    // time travel: after the first event (flow.started) the run is running and no step has started
    await page.getByTestId('scrubber').fill('0')
    await expect.poll(() => text('scrub-position'), T).toContain('after event 1 of')
    expect(await text('run-status')).toBe('running')
    expect(await stepStatus('a')).toBe('pending')
    const aDone = events.events.findIndex((e) => e.kind === 'step.completed')
    await page.getByTestId('scrubber').fill(String(aDone))
    await expect.poll(() => stepStatus('a'), T).toBe('completed')
    expect(await stepStatus('b')).not.toBe('completed')
    await page.getByTestId('scrub-live').click()
    await expect.poll(() => text('run-status'), T).toBe('completed')
  })

  it('bidi controls in user data (an RTL override, isolates, marks) are shown as escapes: no row reads as something it is not', async () => {
    const hostile = 'invoice\u202Efdp.exe \u2066iso\u2069 \u200Fm\u200E \u061C'
    const shown = 'invoice\\u202Efdp.exe \\u2066iso\\u2069 \\u200Fm\\u200E \\u061C'
    const id = await start('quick', { ms: 1, file: hostile })
    await open(`#/runs/${id}`)
    await expect.poll(() => text('run-status'), T).toBe('completed')
    // the log row's fields, the input's JSON view and the raw event's data
    expect(await page.getByTestId('logs').locator('li.log', { hasText: 'a ran' }).textContent()).toContain(shown)
    expect(await text('input')).toContain(shown)
    expect(await page.getByTestId('events').locator('tr[data-kind="flow.started"]').textContent()).toContain(shown)
    const left = await page.evaluate(() => (document.body.textContent ?? '').match(/[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/g))
    expect(left).toBeNull()
  })

  it('run view: a child run linked from its parent, and the parent from the child', async () => {
    const parent = await start('batch', null)
    await open(`#/runs/${parent}`)
    await expect.poll(() => text('run-status'), T).toBe('completed')
    const child = page.getByTestId('children').locator('a')
    await expect.poll(() => child.count(), T).toBe(1)
    const childId = (await child.getAttribute('data-run')) as string
    await child.click()
    await expect.poll(() => text('run-id'), T).toBe(childId)
    expect(await page.locator('#run-h a').textContent()).toBe('quick')
    await page.getByTestId('parent-link').click()
    await expect.poll(() => text('run-id'), T).toBe(parent)
    // refused (a watcher may not read runs): the child runs say so, with the API's message
    await page.context().addCookies([{ name: 'role', value: 'watcher', url: server.url }])
    try {
      await open(`#/runs/${parent}`)
      await expect.poll(() => text('run-status'), T).toBe('completed')
      await expect.poll(() => text('children-error'), T).toBe('Child runs refused: Not allowed: runs.read.')
    } finally {
      await page.context().clearCookies()
    }
  })

  it('run view: more than a page of child runs, the rest read with "More child runs"', async () => {
    const parent = await start('wide', { n: 105 })
    await open(`#/runs/${parent}`)
    await expect.poll(() => text('run-status'), T).toBe('completed')
    const links = page.getByTestId('children').locator('a')
    await expect.poll(() => links.count(), T).toBe(100)
    await page.getByTestId('children-more').click()
    await expect.poll(() => links.count(), T).toBe(105)
    const shown = await links.evaluateAll((as) => as.map((a) => a.getAttribute('data-run')))
    const listed = (await (await fetch(`${server.url}/flows/runs/${parent}/children?limit=1000`)).json()) as {
      children: Array<{ runId: string }>
    }
    expect(shown).toEqual(listed.children.map((c) => c.runId))
    expect(await page.getByTestId('children-more').count()).toBe(0)
  })

  it('actions: publish an event and resolve a trigger, each refusal showing the API message; the run completes live', async () => {
    const id = await start('order', { orderId: 'o-1', customer: 'c-1' })
    await open(`#/runs/${id}`)
    await expect.poll(() => stepStatus('payment'), T).toBe('awaiting')
    // charge failed once and was retried: its attempts in the timeline
    await expect.poll(() => stepStatus('charge'), T).toBe('completed')
    expect(await page.getByTestId('step-charge').getByTestId('attempt').textContent()).toBe('#2')
    expect(await page.getByTestId('step-charge').locator('.history').textContent()).toContain('failed #1, retries')
    // a refused publish: the API's message
    await page.getByTestId('event-kind').fill('bad kind')
    await page.getByTestId('event-publish').click()
    const refusedPublish = await apiMessage('/events', { kind: 'bad kind', data: {} })
    await expect.poll(() => text('action-error'), T).toBe(`Publish refused: ${refusedPublish}`)
    // the data goes as typed: a number too large for a double is refused by the API, as from any
    // client (a parse and a stringify in the page sent it as null, and the event was published)
    await page.getByTestId('event-kind').fill('payment.confirmed')
    await page.getByTestId('event-data').fill('{"orderId":"o-1","amount":1e400}')
    await page.getByTestId('event-publish').click()
    await expect.poll(() => text('action-error'), T).toMatch(/^Publish refused: .*too large for a double/)
    expect(await stepStatus('payment')).toBe('awaiting')
    await page.getByTestId('event-data').fill('{"orderId":"o-1","amount":42}')
    await page.getByTestId('event-publish').click()
    await expect.poll(() => text('action-result'), T).toMatch(/^Event payment.confirmed published/)
    await expect.poll(() => stepStatus('payment'), T).toBe('completed')
    await expect.poll(() => stepStatus('approve'), T).toBe('awaiting')
    const triggerId = (await page.getByTestId('trigger-id').getAttribute('placeholder')) as string
    expect(triggerId).toMatch(/^[A-Za-z0-9]{21}$/)
    await page.getByTestId('trigger-payload').fill('{"approved":')
    await page.getByTestId('trigger-resolve').click()
    await expect.poll(() => text('action-error'), T).toContain('The payload is not JSON')
    await page.getByTestId('trigger-payload').fill('{"approved":1e400}')
    await page.getByTestId('trigger-resolve').click()
    await expect.poll(() => text('action-error'), T).toMatch(/^Resolve refused: .*too large for a double/)
    await page.getByTestId('trigger-payload').fill('{"approved":true}')
    await page.getByTestId('trigger-resolve').click()
    await expect.poll(() => text('action-result'), T).toBe('Trigger resolved: step approve resumes.')
    await expect.poll(() => text('run-status'), T).toBe('completed')
    expect(JSON.parse((await text('result')) as string)).toMatchObject({ ship: { tracking: 'TRK-1' } })
    // resolving it again is refused by the API (409): its message
    await page.getByTestId('trigger-id').fill(triggerId)
    await page.getByTestId('trigger-resolve').click()
    const conflict = await apiMessage(`/triggers/${triggerId}`, { approved: true })
    await expect.poll(() => text('action-error'), T).toBe(`Resolve refused: ${conflict}`)
    expect(await page.getByTestId('run-cancel').isDisabled()).toBe(true)
  })

  it('resolve trigger with the payload null: the step gets null (not {})', async () => {
    const id = await start('order', { orderId: 'o-null' })
    await open(`#/runs/${id}`)
    await expect.poll(() => stepStatus('payment'), T).toBe('awaiting')
    const published = await fetch(`${server.url}/flows/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'payment.confirmed', data: { orderId: 'o-null' } }),
    })
    expect(published.status).toBe(202)
    await expect.poll(() => stepStatus('approve'), T).toBe('awaiting')
    await page.getByTestId('trigger-payload').fill('null')
    await page.getByTestId('trigger-resolve').click()
    await expect.poll(() => text('action-result'), T).toBe('Trigger resolved: step approve resumes.')
    await expect.poll(() => stepStatus('approve'), T).toBe('completed')
    expect(await page.getByTestId('step-approve').locator('.detail').textContent()).toBe('→ null')
  })

  it('cancel asks first (in-page dialog), then cancels; rerun from a step starts a linked run', async () => {
    const id = await start('order', { orderId: 'o-2' })
    await open(`#/runs/${id}`)
    await expect.poll(() => stepStatus('payment'), T).toBe('awaiting')
    await page.getByTestId('run-cancel').click()
    const dialog = page.locator('dialog.confirm')
    // the page renders it after the click: waited for (isVisible alone does not wait; it failed under load)
    await dialog.waitFor({ state: 'visible', timeout: 10_000 })
    await dialog.getByText('Keep it').click() // declined: nothing happens
    expect(await text('run-status')).not.toBe('canceled')
    // a viewer's cancel is refused by the API's authorize (the page's cookie reaches it): its message
    await page.context().addCookies([{ name: 'role', value: 'viewer', url: server.url }])
    await page.getByTestId('run-cancel').click()
    await page.getByTestId('confirm').click()
    await expect.poll(() => text('action-error'), T).toBe('Cancel refused: Not allowed: runs.cancel.')
    await page.context().clearCookies()
    await page.getByTestId('run-cancel').click()
    await page.getByTestId('confirm').click()
    await expect.poll(() => text('run-status'), T).toBe('canceled')
    expect(await stepStatus('payment')).toBe('canceled')
    // rerun the canceled order from `payment`: validate and charge are copied
    await page.getByTestId('rerun-from').selectOption('payment')
    await page.getByTestId('run-rerun').click()
    await expect.poll(() => text('run-id'), T).not.toBe(id)
    const rerun = (await text('run-id')) as string
    expect(page.url()).toContain(`#/runs/${rerun}`)
    await expect.poll(() => page.getByTestId('rerun-of').textContent(), T).toBe(`${id.slice(0, 10)}…`)
    await expect.poll(() => stepStatus('payment'), T).toBe('awaiting')
    expect(await page.getByTestId('step-validate').textContent()).toContain('copied')
    // a refused rerun: a step the run does not have
    const refused = await apiMessage(`/runs/${rerun}/rerun`, { from: 'nope' })
    expect(refused).toContain('nope')
    await server.runner.cancel(rerun, 'test done')
    await expect.poll(() => text('run-status'), T).toBe('canceled')
  })

  it("a rerun the flow's singleton takes says so and stays on the run (no new run to open)", async () => {
    const id = await start('solo', {})
    await open(`#/runs/${id}`)
    await expect.poll(() => stepStatus('only'), T).toBe('awaiting')
    await page.getByTestId('run-rerun').click()
    await expect.poll(() => text('action-result'), T).toContain('No new run')
    expect(await text('action-result')).toContain('singleton')
    expect(page.url()).toContain(`#/runs/${id}`)
    expect(await text('run-id')).toBe(id)
    await server.runner.cancel(id, 'test done')
    await expect.poll(() => text('run-status'), T).toBe('canceled')
  })

  it('schedules and limits views, when the API has them; the runs view follows its rows live', async () => {
    const held = await start('order', { orderId: 'o-3', customer: 'c-9' })
    await open('#/flows/order')
    const limit = page.locator('[data-testid="limit-row"][data-key="c-9"]')
    await expect.poll(() => limit.locator('td').nth(3).textContent(), T).toBe('1')
    // the runs view's rows follow the runs live: canceled elsewhere, its row says so without a reload
    const row = (id: string) => page.locator(`[data-testid="run-row"][data-run="${id}"]`)
    await expect.poll(() => row(held).getAttribute('data-status'), T).toBe('awaiting')
    await server.runner.cancel(held, 'test done')
    await expect.poll(() => row(held).getAttribute('data-status'), T).toBe('canceled')
    await page.getByTestId('nav-schedules').click()
    const schedule = page.getByTestId('schedule-tick-hourly')
    await expect.poll(() => schedule.getAttribute('data-paused'), T).toBe('false')
    await schedule.getByText('Pause').click()
    await expect.poll(() => schedule.getAttribute('data-paused'), T).toBe('true')
    await schedule.getByText('Resume').click()
    await expect.poll(() => schedule.getAttribute('data-paused'), T).toBe('false')
    // Run now starts a run outside the cadence and opens it
    await schedule.getByText('Run now').click()
    await expect.poll(() => page.url(), T).toMatch(/#\/runs\/[A-Za-z0-9]{21}$/)
    await expect.poll(() => text('run-status'), T).toBe('completed')
    expect(await page.locator('#run-h a').textContent()).toBe('tick')
  })

  it('names, ids and values as long as allowed wrap: no view is wider than the window, no status pushed out of it', async () => {
    const runId = `run_${'z'.repeat(124)}`
    await server.runner.startFlow(longNames.name, null, { runId })
    /** The page's width beyond the window's (0 when it fits) and how far right `testId`'s first element ends. */
    const overflow = () => page.evaluate(() => document.documentElement.scrollWidth - innerWidth)
    const right = (testId: string) =>
      page
        .getByTestId(testId)
        .first()
        .evaluate((e) => e.getBoundingClientRect().right - innerWidth)
    await open(`#/runs/${runId}`)
    await expect.poll(() => stepStatus(LONG_NAME), T).toBe('completed')
    expect(await overflow()).toBeLessThanOrEqual(0)
    expect(
      await page
        .getByTestId(`step-${LONG_NAME}`)
        .locator('.badge')
        .evaluate((e) => e.getBoundingClientRect().right),
    ).toBeLessThan(await page.evaluate(() => innerWidth))
    // the rerun select, as wide as its longest step name, stays in its column
    const panel = await page.locator('.actions-panel').evaluate((e) => e.getBoundingClientRect().right)
    expect(await page.getByTestId('rerun-from').evaluate((e) => e.getBoundingClientRect().right)).toBeLessThanOrEqual(panel)
    // the raw events' data column keeps its room beside the long step name
    expect(
      await page
        .getByTestId('events')
        .locator('tbody tr td:last-child')
        .first()
        .evaluate((e) => e.getBoundingClientRect().width),
    ).toBeGreaterThan(200)
    await open(`#/flows/${longNames.name}`)
    await expect.poll(() => page.getByTestId('run-row').count(), T).toBe(1)
    expect(await overflow()).toBeLessThanOrEqual(0)
    expect(await right('run-row')).toBeLessThanOrEqual(0)
    await open('')
    await expect.poll(() => page.getByTestId(`flow-${longNames.name}`).count(), T).toBe(1)
    expect(await overflow()).toBeLessThanOrEqual(0)
  })

  it('steps named after Object.prototype members (constructor, toString…) show in the graph and the steps table', async () => {
    const id = await start('protoNames', {})
    await open(`#/runs/${id}`)
    await expect.poll(() => page.getByTestId('run-status').textContent(), T).toBe('completed')
    for (const name of ['constructor', 'toString', 'valueOf', 'hasOwnProperty']) {
      expect(await page.getByTestId(`graph-step-${name}`).getAttribute('data-status'), name).toBe('completed')
      expect(await stepStatus(name), name).toBe('completed')
    }
    expect(pageErrors).toEqual([])
  })

  it('a run of 250 logs shows the last 200 until asked for all', async () => {
    const id = await start('chatty', {})
    await open(`#/runs/${id}`)
    await expect.poll(() => page.getByTestId('run-status').textContent(), T).toBe('completed')
    const logs = page.getByTestId('logs').locator('li.log')
    await expect.poll(() => logs.count(), T).toBe(200)
    expect(await logs.last().textContent()).toContain('line 249')
    await page.getByTestId('logs-all').click()
    await expect.poll(() => logs.count(), T).toBe(250)
    expect(await logs.first().textContent()).toContain('line 0')
  })

  it('is keyboard reachable and follows a dark color scheme', async () => {
    const id = await start('order', { orderId: 'o-4' })
    const dark = await browser.newPage({ colorScheme: 'dark' })
    dark.on('pageerror', (e) => pageErrors.push(e.message))
    await open(`#/runs/${id}`, dark)
    await expect.poll(() => dark.getByTestId('run-status').textContent(), T).toBe('awaiting')
    const bg = await dark.evaluate(() => getComputedStyle(document.body).backgroundColor)
    expect(bg).toBe('rgb(20, 23, 27)')
    // Tab from the top reaches the cancel button; Enter opens the dialog, whose confirm works by keyboard too
    let reached = false
    let node = false
    for (let i = 0; i < 40 && !reached; i++) {
      await dark.keyboard.press('Tab')
      const at = await dark.evaluate(() => document.activeElement?.getAttribute('data-testid') ?? '')
      // the step graph's nodes are on the way (focusable: tabindex on SVG)
      node ||= at.startsWith('graph-step-')
      reached = at === 'run-cancel'
    }
    expect(node).toBe(true)
    expect(reached).toBe(true)
    await dark.keyboard.press('Enter')
    // focus() does not wait for the element to show: wait for the modal to be open first
    await dark.getByTestId('confirm').waitFor({ state: 'visible', ...T })
    await dark.getByTestId('confirm').focus()
    await dark.keyboard.press('Enter')
    await expect.poll(() => dark.getByTestId('run-status').textContent(), T).toBe('canceled')
    await dark.close()
    expect(pageErrors).toEqual([])
  })
})
