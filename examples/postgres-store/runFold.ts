// A run's summary status, folded one event at a time, as a JSON value the store keeps in the
// run's row (the memory store keeps the same fields in its run table; the Redis store in a hash).
import { isTerminalKind, type RunStatus, type RunSummary, type StepActivity, stepActivity } from '@leanflow/core'

/** What the store keeps per run to answer `listRuns` without reading the log. */
export interface RunFold {
  /** The run's status; absent (pending) before `flow.started` or a terminal event. */
  status?: RunStatus
  /** Live steps: `active` (running, retrying or queued) or `awaiting`. */
  steps: Record<string, 'active' | 'awaiting'>
  running: number
  awaiting: number
  /** The pending await positions of each awaiting step (`null`: an await without `data.position`). */
  pending: Record<string, Array<number | null>>
  /** The run's `step.await.run` events (child runs invoked). */
  children?: number
  summary?: RunSummary
  /** `startedAt` in ms. */
  startedMs?: number
}

export const emptyFold = (): RunFold => ({ steps: {}, running: 0, awaiting: 0, pending: {} })

const TERMINAL: Record<string, RunStatus> = { 'flow.completed': 'completed', 'flow.failed': 'failed', 'flow.canceled': 'canceled' }
const isFinal = (s: RunStatus | undefined) => s === 'completed' || s === 'failed' || s === 'canceled'

/** The event as the fold reads it. */
export interface FoldEvent {
  kind: string
  step?: string | undefined
  data: unknown
  ms: number
  ts: string
  flowName?: string | undefined
  flowVersion?: number | undefined
  runId: string
}

/**
 * Folds `e` into `f` (in place) as the reducer would: `flow.started` starts a pending run;
 * `flow.queued` makes a started run `queued` until its first `step.started`; a started run is
 * `awaiting` while a step awaits and none runs, else `running`; a terminal status sticks.
 * Returns true when `e` ended the run (its retention starts).
 */
export function foldEvent(f: RunFold, e: FoldEvent): boolean {
  if (e.kind === 'step.await.run') {
    f.children = (f.children ?? 0) + 1
    if (f.summary) f.summary.children = f.children
  }
  const was = f.status
  if (isFinal(was)) return false
  let act = stepActivity(e)
  if (act !== undefined && e.step !== undefined) {
    act = pendingAwaits(f, e.step, e.kind, e.data, act)
    const old = Object.hasOwn(f.steps, e.step) ? f.steps[e.step] : 'done'
    if (old !== act) {
      if (old === 'active') f.running--
      else if (old === 'awaiting') f.awaiting--
      if (act === 'active') f.running++
      else if (act === 'awaiting') f.awaiting++
      if (act === 'done') delete f.steps[e.step]
      else f.steps[e.step] = act
    }
  }
  const live: RunStatus = f.awaiting > 0 && f.running === 0 ? 'awaiting' : 'running'
  const terminal = isTerminalKind(e.kind) ? TERMINAL[e.kind] : undefined
  if (terminal !== undefined) {
    f.status = terminal
    if (f.summary) f.summary = { ...f.summary, status: terminal, completedAt: e.ts }
    return true
  }
  if (e.kind === 'flow.started' && was === undefined && e.flowName !== undefined) {
    f.status = live
    f.summary = { runId: e.runId, flow: e.flowName, status: live, startedAt: e.ts }
    const parent = (e.data as { parent?: { runId?: unknown; step?: unknown } } | null)?.parent
    if (typeof parent?.runId === 'string' && typeof parent.step === 'string') f.summary.parent = { runId: parent.runId, step: parent.step }
    if (e.flowVersion !== undefined) f.summary.version = e.flowVersion
    if (f.children !== undefined) f.summary.children = f.children
    f.startedMs = e.ms
  } else if (e.kind === 'flow.queued') {
    if (was !== undefined && was !== 'queued') move(f, 'queued')
  } else if (was !== undefined && live !== was && (was !== 'queued' || e.kind === 'step.started')) {
    move(f, live)
  }
  return false
}

function move(f: RunFold, status: RunStatus): void {
  f.status = status
  if (f.summary) f.summary = { ...f.summary, status }
}

/** The step stays `awaiting` while any of its awaits is pending (see core's memory run table). */
function pendingAwaits(f: RunFold, step: string, kind: string, data: unknown, act: StepActivity): StepActivity {
  const ends = kind === 'step.resumed' || kind === 'step.await.timeout'
  if (act !== 'awaiting' && !ends) {
    delete f.pending[step]
    return act
  }
  const raw = (data as { position?: unknown } | null)?.position
  const pos = typeof raw === 'number' && Number.isFinite(raw) ? raw : null
  const list = ends && pos === null ? [] : (Object.hasOwn(f.pending, step) ? (f.pending[step] ?? []) : []).filter((p) => p !== pos)
  if (!ends) list.push(pos)
  if (list.length === 0) {
    delete f.pending[step]
    return act
  }
  f.pending[step] = list
  return 'awaiting'
}
