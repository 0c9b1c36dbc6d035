// The page's calls to leanflow's HTTP handler (mounted at /flows).

/** A run in the flow's run list (`GET /flows/:flow/runs`). */
export interface RunRow {
  runId: string
  flow: string
  status: string
  startedAt: string
  completedAt?: string
  /** The run and step whose `ctx.invoke` started it (a child run). */
  parent?: { runId: string; step: string }
  /** How many child runs it invoked. */
  children?: number
  /** The flow version the run is pinned to. */
  version?: number
}

/** A schedule (`GET /flows/schedules`; `ScheduleInfo` of `@leanflow/runner`). */
export interface ScheduleRow {
  id: string
  flow: string
  cron?: string
  every?: string
  tz: string
  paused: boolean
  /** ISO time of the next tick; `null` while paused. */
  nextRunAt: string | null
  lastRun?: { tick: string; runId?: string; skipped?: true }
}

/** One limit of a flow in use (`GET /flows/:flow/limits`; `LimitInfo` of `@leanflow/runner`). */
export interface LimitRow {
  /** `flow`, or the step's name for a step-level limit. */
  scope: string
  kind: 'concurrency' | 'rateLimit'
  /** The limit's key (`''` when it has no key function). */
  key: string
  /** Holders now (a rate limit: admissions in the current window). */
  active: number
  /** Runs (or steps) waiting in its line. */
  queued: number
}

const base = '/flows'

/** `GET /flows/runs/:runId/children`: the runs it invoked, with their summaries (the first 1,000). */
async function children(runId: string): Promise<RunRow[]> {
  const { children } = await call<{ children: RunRow[] }>('GET', `/runs/${encodeURIComponent(runId)}/children?limit=1000`)
  return children
}

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await res.text()
  const json = text ? JSON.parse(text) : {}
  if (!res.ok) throw new Error(json?.error?.message ?? `${method} ${path}: HTTP ${res.status}`)
  return json as T
}

/** `GET /flows/:flow/limits`, or `undefined` when the handler has no such route (404). */
async function limits(flow: string): Promise<LimitRow[] | undefined> {
  const res = await fetch(`${base}/${encodeURIComponent(flow)}/limits`)
  if (res.status === 404) return undefined
  if (!res.ok) throw new Error(`GET /${flow}/limits: HTTP ${res.status}`)
  return ((await res.json()) as { limits: LimitRow[] }).limits
}

export const api = {
  flows: () => call<{ flows: Array<{ flow: string; runs: number }> }>('GET', '/'),
  runs: (flow: string) => call<{ runs: RunRow[] }>('GET', `/${encodeURIComponent(flow)}/runs?limit=30`),
  start: (flow: string, input: unknown) => call<{ runId: string }>('POST', `/${encodeURIComponent(flow)}/runs`, input),
  /** `POST /flows/runs/:runId/rerun`: a new run that reruns this one from `from` (the steps before it copied). */
  rerun: (runId: string, body: { from?: string; input?: unknown }) =>
    call<{ runId: string }>('POST', `/runs/${encodeURIComponent(runId)}/rerun`, body),
  cancel: (runId: string) => call<unknown>('POST', `/runs/${encodeURIComponent(runId)}/cancel`, { reason: 'canceled from the demo page' }),
  publish: (kind: string, data: unknown) => call<{ id: string }>('POST', '/events', { kind, data }),
  resolveTrigger: (triggerId: string, payload: unknown) =>
    call<{ runId: string; step: string }>('POST', `/triggers/${encodeURIComponent(triggerId)}`, payload),
  schedules: () => call<{ schedules: ScheduleRow[] }>('GET', '/schedules'),
  // the schedule POSTs take no fields: `{}` sends the JSON content type every POST needs
  pauseSchedule: (id: string) => call<{ schedule: ScheduleRow }>('POST', `/schedules/${encodeURIComponent(id)}/pause`, {}),
  resumeSchedule: (id: string) => call<{ schedule: ScheduleRow }>('POST', `/schedules/${encodeURIComponent(id)}/resume`, {}),
  triggerSchedule: (id: string) => call<{ runId: string }>('POST', `/schedules/${encodeURIComponent(id)}/trigger`, {}),
  limits,
  children,
  streamUrl: (runId: string) => `${base}/runs/${encodeURIComponent(runId)}/stream`,
}
