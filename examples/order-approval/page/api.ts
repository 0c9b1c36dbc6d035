// The page's calls to leanflow's HTTP handler (mounted at /flows).

/** A run in the flow's run list (`GET /flows/:flow/runs`). */
export interface RunRow {
  runId: string
  flow: string
  status: string
  startedAt: string
  completedAt?: string
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

const base = '/flows'

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

export const api = {
  flows: () => call<{ flows: Array<{ flow: string; runs: number }> }>('GET', '/'),
  runs: (flow: string) => call<{ runs: RunRow[] }>('GET', `/${encodeURIComponent(flow)}/runs?limit=30`),
  start: (flow: string, input: unknown) => call<{ runId: string }>('POST', `/${encodeURIComponent(flow)}/runs`, input),
  cancel: (runId: string) => call<unknown>('POST', `/runs/${encodeURIComponent(runId)}/cancel`, { reason: 'canceled from the demo page' }),
  publish: (kind: string, data: unknown) => call<{ id: string }>('POST', '/events', { kind, data }),
  resolveTrigger: (triggerId: string, payload: unknown) =>
    call<{ runId: string; step: string }>('POST', `/triggers/${encodeURIComponent(triggerId)}`, payload),
  schedules: () => call<{ schedules: ScheduleRow[] }>('GET', '/schedules'),
  // the schedule POSTs take no fields: `{}` sends the JSON content type every POST needs
  pauseSchedule: (id: string) => call<{ schedule: ScheduleRow }>('POST', `/schedules/${encodeURIComponent(id)}/pause`, {}),
  resumeSchedule: (id: string) => call<{ schedule: ScheduleRow }>('POST', `/schedules/${encodeURIComponent(id)}/resume`, {}),
  triggerSchedule: (id: string) => call<{ runId: string }>('POST', `/schedules/${encodeURIComponent(id)}/trigger`, {}),
  streamUrl: (runId: string) => `${base}/runs/${encodeURIComponent(runId)}/stream`,
}
