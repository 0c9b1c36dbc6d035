import { useEffect, useState } from 'preact/hooks'
import { api, type FlowRow, messageOf, type RunRow } from './api.js'
import { formatDuration, formatTime, RUN_STATUSES } from './format.js'
import { LimitsTable } from './LimitsTable.js'
import { hrefFlow, hrefRun } from './route.js'

/** Runs per page: the API's `limit`. A flow with 10,000 runs is read one page at a time. */
export const PAGE_SIZE = 50
/** How often the shown page is read again, so its rows follow the runs live. */
const REFRESH_MS = 2000

/** One page at `before` (the `next` of the page before it; undefined: the newest page). */
function readPage(flow: string, status: string | undefined, before: string | undefined): Promise<{ runs: RunRow[]; next?: string }> {
  return api.runs(flow, { status, before, limit: PAGE_SIZE })
}

/**
 * One flow's runs, newest first, one page at a time (each page at the API's `next` of the page
 * before: runs started in one millisecond are neither lost nor shown twice), filtered by status;
 * the page is read again every 2 s so its rows change live.
 */
export function RunsView({ flow, status }: { flow: string; status?: string | undefined }) {
  const [flows, setFlows] = useState<FlowRow[]>([])
  // the `before` of each page shown after the newest: [] is the newest page
  const [cursors, setCursors] = useState<string[]>([])
  // the rows shown, the next page's cursor, and the page they were read for (a new page shows no rows of the one before)
  const [loaded, setLoaded] = useState<{ key: string; runs: RunRow[]; next?: string | undefined } | undefined>()
  const [error, setError] = useState('')
  const before = cursors.at(-1)
  const pageNo = cursors.length + 1
  const key = `${status ?? ''}/${pageNo}/${before ?? ''}`
  const runs = loaded?.key === key ? loaded.runs : undefined
  const next = loaded?.key === key ? loaded.next : undefined
  useEffect(() => {
    api.flows().then(setFlows, () => {})
  }, [])
  useEffect(() => setCursors([]), [status])
  useEffect(() => {
    let alive = true
    const load = () =>
      readPage(flow, status, before).then(
        (r) => {
          if (!alive) return
          setLoaded({ key, runs: r.runs, next: r.next })
          setError('')
        },
        (err) => alive && setError(messageOf(err)),
      )
    load()
    const t = setInterval(load, REFRESH_MS)
    return () => {
      alive = false
      clearInterval(t)
    }
  }, [flow, status, before, key])
  const older = () => {
    if (next !== undefined) setCursors([...cursors, next])
  }
  const go = (f: string, s: string) => {
    location.hash = hrefFlow(f, s || undefined)
  }
  return (
    <section aria-labelledby="runs-h">
      <h1 id="runs-h">
        Runs of <span data-testid="runs-flow">{flow}</span>
      </h1>
      <div class="toolbar">
        <label>
          Flow{' '}
          <select data-testid="flow-filter" value={flow} onChange={(e) => go((e.target as HTMLSelectElement).value, status ?? '')}>
            {[flow, ...flows.map((f) => f.flow).filter((f) => f !== flow)].sort().map((f) => (
              <option key={f} value={f}>
                {f}
              </option>
            ))}
          </select>
        </label>
        <label>
          Status{' '}
          <select data-testid="status-filter" value={status ?? ''} onChange={(e) => go(flow, (e.target as HTMLSelectElement).value)}>
            <option value="">any</option>
            {RUN_STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
      </div>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {runs && (
        <table data-testid="runs" data-page={pageNo}>
          <thead>
            <tr>
              <th scope="col">run</th>
              <th scope="col">status</th>
              <th scope="col">started</th>
              <th scope="col">took</th>
              <th scope="col" class="num">
                version
              </th>
              <th scope="col">relations</th>
            </tr>
          </thead>
          <tbody>
            {runs.map((r) => (
              <tr key={r.runId} data-testid="run-row" data-run={r.runId} data-status={r.status}>
                <td>
                  <a class="mono" href={hrefRun(r.runId)}>
                    {r.runId}
                  </a>
                </td>
                <td>
                  <span class={`badge s-${r.status}`}>{r.status}</span>
                </td>
                <td>{formatTime(r.startedAt)}</td>
                <td>{r.completedAt ? formatDuration(Date.parse(r.completedAt) - Date.parse(r.startedAt)) : ''}</td>
                <td class="num">{r.version ?? ''}</td>
                <td>
                  {r.parent && <a href={hrefRun(r.parent.runId)}>child of {r.parent.step}</a>}
                  {r.parent && r.children ? ' · ' : ''}
                  {r.children ? `${r.children} child run${r.children === 1 ? '' : 's'}` : ''}
                </td>
              </tr>
            ))}
            {runs.length === 0 && (
              <tr>
                <td colSpan={6}>{cursors.length > 0 ? 'No older runs.' : status ? `No ${status} runs.` : 'No runs.'}</td>
              </tr>
            )}
          </tbody>
        </table>
      )}
      <div class="pager">
        <button type="button" data-testid="page-newest" disabled={cursors.length === 0} onClick={() => setCursors([])}>
          Newest
        </button>
        <button type="button" data-testid="page-newer" disabled={cursors.length === 0} onClick={() => setCursors(cursors.slice(0, -1))}>
          Newer
        </button>
        <span data-testid="page-number">page {pageNo}</span>
        <button type="button" data-testid="page-older" disabled={next === undefined} onClick={older}>
          Older
        </button>
      </div>
      <LimitsTable flow={flow} />
    </section>
  )
}
