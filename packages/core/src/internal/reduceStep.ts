// Step-level transitions and the `log` / `state.set` readers, shared by
// reduceFlow (a private mutable builder) and applyEvent (copy on write).

import { type EventRecord, isTerminalKind, type LogLevel } from '../events.js'
import type { LogEntry, StepAwait, StepState, StepStatus } from '../flowState.js'
import { attemptOf, fieldsOf, isRecord, num, queuedOf, str, toText } from './reduceData.js'

/** Read and write access to a steps map (mutable for reduceFlow, copy-on-write for applyEvent). */
export interface StepsAccess {
  get(name: string): StepState | undefined
  set(name: string, step: StepState): void
  /** The names of every step. */
  names(): string[]
}

type Draft = { -readonly [K in keyof StepState]: StepState[K] }

const LEVELS: ReadonlySet<string> = new Set<LogLevel>(['debug', 'info', 'warn', 'error'])

/**
 * The effect of `e` on the steps: the step it names (created when new), and the steps
 * `flow.started` declares. `ended`: the run is completed, failed or canceled after `e`; then
 * every step that has not completed or failed is `canceled` (an ended run shows no live step).
 */
export function reduceSteps(steps: StepsAccess, e: EventRecord, runStarts: boolean, ended: boolean): void {
  const name = e.step
  if (typeof name === 'string' && name !== '') {
    const prev = steps.get(name)
    const from = prev ?? { name, status: 'pending', attempt: 0 }
    let next = typeof e.kind === 'string' && e.kind.startsWith('step.') ? nextStep(from, e) : from
    if (ended && LIVE.has(next.status)) next = canceled(next)
    if (next !== prev) steps.set(name, next)
  }
  if (runStarts && e.kind === 'flow.started') declareSteps(steps, fieldsOf(e.data).steps)
  if (ended && isTerminalKind(e.kind)) {
    for (const n of steps.names()) {
      const s = steps.get(n)
      if (s !== undefined && LIVE.has(s.status)) steps.set(n, canceled(s))
    }
  }
}

/** The statuses an ended run's steps may not keep. */
const LIVE: ReadonlySet<string> = new Set<StepStatus>(['pending', 'queued', 'running', 'awaiting', 'retrying'])

function canceled(s: StepState): StepState {
  return clean({ ...s, status: 'canceled', nextRetryAt: undefined })
}

function declareSteps(steps: StepsAccess, declared: unknown): void {
  if (!isRecord(declared)) return
  for (const name of Object.keys(declared)) {
    if (name === '') continue
    const spec = declared[name]
    const raw = isRecord(spec) ? spec.needs : undefined
    const needs = Array.isArray(raw) ? raw.filter((n): n is string => typeof n === 'string') : []
    const prev = steps.get(name)
    if (prev === undefined) steps.set(name, { name, status: 'pending', attempt: 0, needs })
    else if (prev.needs === undefined) steps.set(name, clean({ ...prev, needs }))
  }
}

function nextStep(prev: StepState, e: EventRecord): StepState {
  const d = fieldsOf(e.data)
  const ts = str(e.ts)
  const s: Draft = { ...prev }
  switch (e.kind) {
    case 'step.queued':
      // waits for a step-level concurrency slot; meta.attempt is the attempt about to start, as on step.retry
      s.status = 'queued'
      s.queued = queuedOf(d)
      s.nextRetryAt = undefined
      break
    case 'step.started':
      if (d.recovered === true) {
        // a worker took the step over after its worker died: the same attempt, running again
        s.status = 'running'
        s.attempt = attemptOf(e.meta) ?? Math.max(prev.attempt, 1)
        s.recoveries = (prev.recoveries ?? 0) + 1
        s.nextRetryAt = undefined
        break
      }
      s.status = 'running'
      s.attempt = attemptOf(e.meta) ?? prev.attempt + 1
      s.startedAt = prev.startedAt ?? ts
      if (d.input !== undefined) s.input = d.input
      s.completedAt = s.duration = s.result = s.error = s.nextRetryAt = undefined
      break
    case 'step.completed':
      s.status = 'completed'
      s.attempt = attemptOf(e.meta) ?? Math.max(prev.attempt, 1)
      s.completedAt = ts
      s.duration = num(d.duration)
      s.result = d.result
      s.error = s.nextRetryAt = undefined
      // copied by a rerun from the run it reruns: it did not run here
      s.copied = d.copied === true ? true : undefined
      break
    case 'step.failed': {
      const retry = d.willRetry === true
      s.status = retry ? 'retrying' : 'failed'
      s.attempt = attemptOf(e.meta) ?? Math.max(prev.attempt, 1)
      s.error = toText(d.error)
      s.nextRetryAt = retry ? str(d.nextRetryAt) : undefined
      s.completedAt = retry ? undefined : ts
      s.result = s.duration = undefined
      break
    }
    case 'step.retry':
      // meta.attempt is the attempt about to start, not the current one.
      s.status = 'retrying'
      s.nextRetryAt = prev.nextRetryAt ?? retryAt(ts, num(d.delayMs))
      break
    case 'step.await.time':
      return awaiting(s, e, { type: 'time', until: str(d.resumeAt) })
    case 'step.await.event':
      return awaiting(s, e, { type: 'event', until: str(d.timeoutAt), eventKind: str(d.eventKind) })
    case 'step.await.trigger':
      return awaiting(s, e, { type: 'trigger', until: str(d.timeoutAt), triggerId: str(d.triggerId), triggerType: str(d.triggerType) })
    case 'step.await.run':
      return awaiting(s, e, { type: 'run', until: str(d.timeoutAt), childRunId: str(d.childRunId), flow: str(d.flow) })
    case 'step.resumed':
    case 'step.await.timeout': {
      // the await of that position leaves (every await, for an event without a position: one await at a time)
      const pos = num(d.position)
      return pend(s, e, pos === undefined ? [] : pendingOf(prev).filter((a) => a?.position !== pos))
    }
    default:
      return prev
  }
  return clean(s)
}

/** The step's pending awaits (a step keeps them only while awaiting; a state from JSON may carry anything there). */
function pendingOf(s: StepState): readonly StepAwait[] {
  return Array.isArray(s.pending) ? s.pending : []
}

/** A `step.await.*`: the await joins the pending ones (replacing one of the same position). */
function awaiting(s: Draft, e: EventRecord, a: Record<string, unknown>): StepState {
  a.position = num(fieldsOf(e.data).position)
  const out: Record<string, unknown> = {}
  for (const k in a) if (a[k] !== undefined) out[k] = a[k]
  return pend(s, e, [...pendingOf(s).filter((p) => p?.position !== out.position), out as unknown as StepAwait])
}

/** `s` after an await event `e`: awaiting while any of `pending` is pending (`awaiting`: the last one announced), else running. */
function pend(s: Draft, e: EventRecord, pending: readonly StepAwait[]): StepState {
  s.attempt = attemptOf(e.meta) ?? Math.max(s.attempt, 1)
  s.status = pending.length > 0 ? 'awaiting' : 'running'
  s.pending = pending
  s.awaiting = pending[pending.length - 1]
  return clean(s)
}

function retryAt(ts: string | undefined, delayMs: number | undefined): string | undefined {
  if (ts === undefined || delayMs === undefined) return undefined
  const t = Date.parse(ts) + delayMs
  return Number.isFinite(t) && Math.abs(t) <= 8.64e15 ? new Date(t).toISOString() : undefined
}

/** A step with its keys in one order and no undefined value (so states compare and serialize alike). */
function clean(s: Draft): StepState {
  const out: Draft = { name: s.name, status: s.status as StepStatus, attempt: s.attempt }
  if (s.needs !== undefined) out.needs = s.needs
  if (s.input !== undefined) out.input = s.input
  if (s.startedAt !== undefined) out.startedAt = s.startedAt
  if (s.completedAt !== undefined) out.completedAt = s.completedAt
  if (s.duration !== undefined) out.duration = s.duration
  if (s.result !== undefined) out.result = s.result
  if (s.error !== undefined) out.error = s.error
  if (s.nextRetryAt !== undefined) out.nextRetryAt = s.nextRetryAt
  // what a step waits for lasts while it awaits: any other status drops it
  if (s.status === 'awaiting') {
    if (s.awaiting !== undefined) out.awaiting = s.awaiting
    if (s.pending !== undefined) out.pending = s.pending
  }
  if (s.status === 'queued') out.queued = s.queued
  if (s.recoveries !== undefined) out.recoveries = s.recoveries
  if (s.copied === true && s.status === 'completed') out.copied = true
  return out
}

/** The log entry of a `log` event. */
export function logEntry(e: EventRecord): LogEntry {
  const d = fieldsOf(e.data)
  const level = typeof d.level === 'string' && LEVELS.has(d.level) ? (d.level as LogLevel) : 'info'
  const ts = toText(e.ts)
  const msg = toText(d.msg)
  const step = e.step
  const out: { -readonly [K in keyof LogEntry]: LogEntry[K] } =
    typeof step === 'string' && step !== '' ? { id: e.id, ts, step, level, msg } : { id: e.id, ts, level, msg }
  if (isRecord(d.fields)) out.fields = d.fields
  return out
}

/** The key and value of a `state.set` event, or undefined when it has no string key. */
export function stateSet(e: EventRecord): { key: string; value: unknown } | undefined {
  const d = fieldsOf(e.data)
  return typeof d.key === 'string' ? { key: d.key, value: d.value } : undefined
}
