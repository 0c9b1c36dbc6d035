// The page's calls to the leanflow HTTP API at the configured apiBase (same origin).
import type { EventRecord, FlowState, RunStatus } from '@leanflow/core'

/** What the server put in the page (`renderPage`). */
export interface PageConfig {
  apiBase: string
  basePath: string
  title: string
}

/** A flow of `GET /`, with its run counts per status when the API gives them. */
export interface FlowRow {
  flow: string
  runs: number
  statuses?: Partial<Record<RunStatus, number>>
}

/** A run summary (`GET /:flow/runs`, `GET /runs/:runId/children`). */
export interface RunRow {
  runId: string
  flow: string
  status: RunStatus
  startedAt: string
  completedAt?: string
  parent?: { runId: string; step: string }
  children?: number
  version?: number
}

/** A schedule (`GET /schedules`). */
export interface ScheduleRow {
  id: string
  flow: string
  cron?: string
  every?: string
  tz: string
  paused: boolean
  nextRunAt: string | null
  lastRun?: { tick: string; runId?: string; skipped?: true }
}

/** A limit in use (`GET /:flow/limits`). */
export interface LimitRow {
  scope: string
  kind: 'concurrency' | 'rateLimit'
  key: string
  active: number
  queued: number
}

/** A refused or failed call: the API's error code and message. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number | undefined,
    readonly code?: string,
  ) {
    super(message)
    this.name = 'ApiError'
  }
}

const el = document.getElementById('leanflow-dashboard-config')
export const config: PageConfig = el?.textContent
  ? JSON.parse(el.textContent)
  : { apiBase: '/flows', basePath: '/dashboard', title: 'leanflow' }

const enc = encodeURIComponent

/** A request body that is JSON text already (the user's, as typed): sent without a parse and a stringify. */
export class RawJson {
  constructor(readonly text: string) {}
}

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  let res: Response
  try {
    res = await fetch(`${config.apiBase}${path}`, {
      method,
      credentials: 'same-origin',
      // a redirect (an authorize sending the browser to a login page) is said as such, not followed
      // to an HTML page (taken for a wrong apiBase) or blocked by the CSP (taken for no answer)
      redirect: 'manual',
      headers: method === 'POST' ? { 'content-type': 'application/json' } : {},
      // a body of null is sent as null (a trigger's payload may be null); no body at all as {}
      body: method !== 'POST' ? undefined : body instanceof RawJson ? body.text : JSON.stringify(body === undefined ? {} : body),
    })
  } catch {
    // no answer at all (the browser's bare "Failed to fetch"): say which call, and what it likely means
    throw new ApiError(
      `${method} ${config.apiBase}${path}: no answer (the API is down or unreachable); try again once it is up.`,
      undefined,
    )
  }
  if (res.type === 'opaqueredirect' || (res.status >= 300 && res.status < 400))
    throw new ApiError(
      `${method} ${config.apiBase}${path} answered with a redirect (to a login page?): sign in and reload, or have the API's authorize answer its calls with 401.`,
      res.status,
    )
  const text = await res.text()
  let json: any = {}
  try {
    json = text ? JSON.parse(text) : {}
  } catch {
    // a page where the API should be (an app's catch-all route): apiBase is not where createHandler is mounted
    if (res.ok)
      throw new ApiError(
        `${method} ${config.apiBase}${path} answered ${res.headers.get('content-type') ?? 'no content type'}, not the leanflow API's JSON: set the dashboard's apiBase to where createHandler is mounted (its basePath).`,
        res.status,
      )
    // authorize's text answer is the message; a proxy's HTML error page is named by its status (below), not shown as markup
    json = /html/i.test(res.headers.get('content-type') ?? '') ? {} : { error: { message: text.slice(0, 300) } }
  }
  if (!res.ok) {
    const status = `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`
    const code = json?.error?.code
    const message = json?.error?.message ?? `${method} ${config.apiBase}${path}: ${status}`
    throw new ApiError(`${message}${apiBaseHint(res.status, code)}`, res.status, code)
  }
  return json as T
}

/** Codes of a 404 that names a missing thing: the API is there. */
const FOUND_API = new Set(['RUN_NOT_FOUND', 'TRIGGER_NOT_FOUND', 'SCHEDULE_NOT_FOUND', 'FLOW_NOT_FOUND'])

/**
 * The hint an answer gets when it says the API is not at `apiBase`: a 404 that names no missing run,
 * trigger, schedule or flow (the handler's `NOT_FOUND` for a path it has no route for, or another
 * server's page), or a 200 where a stream should be (an app's catch-all page); else ''.
 */
export function apiBaseHint(status: number | undefined, code: string | undefined): string {
  if ((status === 404 && (code === undefined || !FOUND_API.has(code))) || status === 200)
    return ` Is the dashboard's apiBase (${config.apiBase}) where createHandler is mounted? Set it to the handler's basePath.`
  return ''
}

/** The stream URL of a run, for `watchRun`. */
export const streamUrl = (runId: string) => `${config.apiBase}/runs/${enc(runId)}/stream`

export const api = {
  // `GET ${apiBase}`, no trailing slash: a host that strips one (Next.js's default) redirects it
  flows: () => call<{ flows: FlowRow[] }>('GET', config.apiBase === '' ? '/' : '').then((r) => r.flows),
  /** Each flow with its counts per status (`GET /:flow/counts`); a flow whose counts are refused keeps its total alone. */
  flowsWithCounts: async () => {
    const flows = await api.flows()
    return Promise.all(
      flows.map((f) =>
        call<{ statuses: FlowRow['statuses'] }>('GET', `/${enc(f.flow)}/counts`).then(
          (c) => ({ ...f, statuses: c.statuses }),
          () => f,
        ),
      ),
    )
  },
  runs: (flow: string, q: { status?: string | undefined; before?: string | undefined; limit: number }) => {
    const p = new URLSearchParams({ limit: String(q.limit) })
    if (q.status) p.set('status', q.status)
    if (q.before !== undefined) p.set('before', q.before)
    return call<{ runs: RunRow[]; next?: string }>('GET', `/${enc(flow)}/runs?${p}`)
  },
  run: (runId: string) => call<{ state: FlowState; lastEventId: string }>('GET', `/runs/${enc(runId)}`),
  events: (runId: string, after?: string, limit = 1000) =>
    call<{ events: EventRecord[] }>('GET', `/runs/${enc(runId)}/events?limit=${limit}${after ? `&after=${enc(after)}` : ''}`).then(
      (r) => r.events,
    ),
  children: (runId: string, after?: string) =>
    call<{ children: RunRow[]; next?: string }>('GET', `/runs/${enc(runId)}/children?limit=100${after ? `&after=${enc(after)}` : ''}`),
  cancel: (runId: string, reason: string) => call<{ runId: string }>('POST', `/runs/${enc(runId)}/cancel`, { reason }),
  rerun: (runId: string, from?: string) =>
    call<{ runId: string; deduplicated?: boolean }>('POST', `/runs/${enc(runId)}/rerun`, from ? { from } : {}),
  resolveTrigger: (triggerId: string, payload: RawJson) =>
    call<{ runId: string; step: string }>('POST', `/triggers/${enc(triggerId)}`, payload),
  publish: (kind: string, data: RawJson) =>
    call<{ id: string }>('POST', '/events', new RawJson(`{"kind":${JSON.stringify(kind)},"data":${data.text}}`)),
  schedules: () => call<{ schedules: ScheduleRow[] }>('GET', '/schedules').then((r) => r.schedules),
  schedule: (id: string, op: 'pause' | 'resume' | 'trigger') => call<unknown>('POST', `/schedules/${enc(id)}/${op}`, {}),
  limits: (flow: string) => call<{ limits: LimitRow[] }>('GET', `/${enc(flow)}/limits`).then((r) => r.limits),
}

/** The message to show for a failed call. */
export const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err))
