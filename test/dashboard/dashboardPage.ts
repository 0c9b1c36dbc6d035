// What the dashboard's browser tests do to a page: open a view on a fresh load, read a test id,
// start a run or read an API refusal over HTTP.
import type { Page } from 'playwright-core'
import { expect } from 'vitest'
import type { DashboardServer } from './dashboardServer.js'

/** The helpers of one test file, on its server and page (read when called: both are set in beforeAll). */
export function pageKit(server: () => DashboardServer, page: () => Page) {
  /** A fresh page load of the dashboard at `hash` (a new document, so deep links are read from scratch). */
  async function open(hash: string, p: Page = page()): Promise<void> {
    await p.goto('about:blank')
    await p.goto(`${server().url}/dashboard/${hash}`)
  }
  const text = (testId: string, p: Page = page()) => p.getByTestId(testId).first().textContent()
  const stepStatus = (name: string) => page().getByTestId(`step-${name}`).getAttribute('data-status')
  /** Starts a run over HTTP; its id. */
  async function start(flow: string, input: unknown): Promise<string> {
    const res = await fetch(`${server().url}/flows/${flow}/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(input),
    })
    expect(res.status).toBe(201)
    return ((await res.json()) as { runId: string }).runId
  }
  /** The API's own error message for a call, to compare with what the page shows. */
  async function apiMessage(path: string, body: unknown): Promise<string> {
    const res = await fetch(`${server().url}/flows${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })
    expect(res.status).toBeGreaterThanOrEqual(400)
    return ((await res.json()) as { error: { message: string } }).error.message
  }
  return { open, text, stepStatus, start, apiMessage }
}
