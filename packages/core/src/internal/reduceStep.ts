// Step-level transitions and the `log` reader, shared by reduceFlow and applyEvent through
// foldEvent; the steps map is copied on its first write in an event.

import { type EventRecord, isTerminalKind, type LogLevel } from '../events.js'
import type { LogEntry, StepAwait, StepState, StepStatus } from '../flowState.js'
import { attemptOf, type Fields, fieldsOf, isName, isRecord, num, put, queuedOf, str, toText } from './reduceData.js'
import type { StepsMap } from './reduceParts.js'

/** The step called `name`: the map's (it has a null prototype: every name is its own), else a new one. */
function stepAt(map: StepsMap, name: string): StepState {
  const s = map[name]
  return isRecord(s) ? s : { name, status: 'pending', attempt: 0 }
}

type Draft = { -readonly [K in keyof StepState]: StepState[K] }

const LEVELS: readonly unknown[] = ['debug', 'info', 'warn', 'error'] satisfies LogLevel[]

/** The statuses an ended run's steps may not keep. */
const LIVE: readonly string[] = ['pending', 'queued', 'running', 'awaiting', 'retrying'] satisfies StepStatus[]

/**
 * The await kinds: what each `step.await.*` records of its data (the field read as `until`,
 * then the fields copied as they are; the await's `type` is the kind's last part), and the two
 * kinds that end an await (nothing to record).
 */
const AWAITS: Readonly<Record<string, readonly string[]>> = {
  'step.await.time': ['resumeAt'],
  'step.await.event': ['timeoutAt', 'eventKind'],
  'step.await.trigger': ['timeoutAt', 'triggerId', 'triggerType'],
  'step.await.run': ['timeoutAt', 'childRunId', 'flow'],
  'step.resumed': [],
  'step.await.timeout': [],
}

/**
 * A step's optional fields, in the order a step shows them (`name`, `status`, `attempt` come
 * first), each with the status it lasts in, when it lasts in one only: what a step waits for
 * lasts while it waits, and `copied` marks a completed step.
 */
const STEP_KEYS: Readonly<Record<string, StepStatus | ''>> = {
  needs: '',
  input: '',
  startedAt: '',
  completedAt: '',
  duration: '',
  result: '',
  error: '',
  nextRetryAt: '',
  awaiting: 'awaiting',
  pending: 'awaiting',
  queued: 'queued',
  recoveries: '',
  copied: 'completed',
} satisfies Record<Exclude<keyof StepState, 'name' | 'status' | 'attempt'>, StepStatus | ''>

/**
 * The steps after `e`: the step it names (created when new), and the steps `flow.started`
 * declares; `map` itself when none changes, else a copy (a null-prototype object). `ended`: the
 * run is completed, failed or canceled after `e`; then every step that has not completed or
 * failed is `canceled` (an ended run shows no live step).
 */
export function reduceSteps(map: StepsMap, e: EventRecord, d: Fields, runStarts: boolean, ended: boolean): StepsMap {
  let out = map
  const name = e.step
  const kind = e.kind
  if (isName(name)) {
    let next = stepAt(map, name)
    if (typeof kind === 'string' && kind.startsWith('step.')) next = nextStep(next, e, d, kind)
    if (ended && LIVE.includes(next.status)) next = canceled(next)
    if (next !== map[name]) out = write(out, map, name, next)
  }
  const declared = d.steps
  if (runStarts && kind === 'flow.started' && isRecord(declared))
    for (const n of Object.keys(declared)) {
      const raw = fieldsOf(declared[n]).needs
      const needs = Array.isArray(raw) ? raw.filter((x): x is string => typeof x === 'string') : []
      const prev = stepAt(out, n)
      if (n !== '' && prev.needs === undefined) out = write(out, map, n, clean({ ...prev, needs }))
    }
  if (ended && isTerminalKind(kind))
    for (const n in out) {
      const s = out[n]
      if (isRecord(s) && LIVE.includes(s.status)) out = write(out, map, n, canceled(s))
    }
  return out
}

/** `out` with `step` as `n`; `out` is first copied while it is still the prior `map`. */
function write(out: StepsMap, map: StepsMap, n: string, step: StepState): StepsMap {
  if (out === map) out = Object.assign(Object.create(null), map)
  out[n] = step
  return out
}

function canceled(s: StepState): StepState {
  return clean({ ...s, status: 'canceled', nextRetryAt: undefined })
}

function nextStep(prev: StepState, e: EventRecord, d: Fields, kind: string): StepState {
  const ts = str(e.ts)
  const attempt = attemptOf(e.meta)
  const s: Draft = { ...prev }
  s.attempt = attempt ?? Math.max(prev.attempt, 1)
  switch (kind) {
    case 'step.queued':
      // waits for a step-level concurrency slot; meta.attempt is the attempt about to start, as on step.retry
      s.status = 'queued'
      s.attempt = prev.attempt
      s.queued = queuedOf(d)
      s.nextRetryAt = undefined
      break
    case 'step.started':
      s.status = 'running'
      s.nextRetryAt = undefined
      if (d.recovered === true) {
        // a worker took the step over after its worker died: the same attempt, running again
        s.recoveries = (prev.recoveries ?? 0) + 1
        break
      }
      s.attempt = attempt ?? prev.attempt + 1
      s.startedAt = prev.startedAt ?? ts
      put(s, 'input', d.input)
      s.completedAt = s.duration = s.result = s.error = undefined
      break
    case 'step.completed':
      s.status = 'completed'
      s.completedAt = ts
      s.duration = num(d.duration)
      s.result = d.result
      s.error = s.nextRetryAt = undefined
      // copied by a rerun from the run it reruns: it did not run here
      s.copied = d.copied === true || undefined
      break
    case 'step.failed': {
      const retry = d.willRetry === true
      s.status = retry ? 'retrying' : 'failed'
      s.error = toText(d.error)
      s.nextRetryAt = retry ? str(d.nextRetryAt) : undefined
      s.completedAt = retry ? undefined : ts
      s.result = s.duration = undefined
      break
    }
    case 'step.retry': {
      // meta.attempt is the attempt about to start, not the current one.
      s.status = 'retrying'
      s.attempt = prev.attempt
      const at = new Date(Date.parse(ts as string) + (num(d.delayMs) as number))
      s.nextRetryAt = prev.nextRetryAt ?? (Number.isNaN(+at) ? undefined : at.toISOString())
      break
    }
    default: {
      const fields = AWAITS[kind]
      if (fields === undefined) return prev
      // A `step.await.*` joins the pending awaits, replacing one of the same position; a
      // `step.resumed` or `step.await.timeout` ends the one of its position (every one, for an
      // event without a position: one await at a time). The step awaits while any is pending.
      const pos = num(d.position)
      const pending = fields.length === 0 && pos === undefined ? [] : pendingOf(prev).filter((p) => p?.position !== pos)
      if (fields.length > 0) {
        const a: Record<string, unknown> = { type: kind.slice(11) }
        fields.forEach((f, i) => {
          put(a, i === 0 ? 'until' : f, str(d[f]))
        })
        put(a, 'position', pos)
        pending.push(a as unknown as StepAwait)
      }
      s.status = pending.length > 0 ? 'awaiting' : 'running'
      s.pending = pending
      s.awaiting = pending.at(-1)
    }
  }
  return clean(s)
}

/** The step's pending awaits (a step keeps them only while awaiting; a state from JSON may carry anything there). */
function pendingOf(s: StepState): readonly StepAwait[] {
  return Array.isArray(s.pending) ? s.pending : []
}

/** A step with its keys in one order and no undefined value (so states compare and serialize alike). */
function clean(s: Draft): StepState {
  const out: Record<string, unknown> = { name: s.name, status: s.status, attempt: s.attempt }
  for (const k in STEP_KEYS) {
    const v = s[k as keyof Draft]
    const only = STEP_KEYS[k]
    // `queued` is kept even when undefined, while queued
    if ((v !== undefined || k === 'queued') && (only || s.status) === s.status && (k !== 'copied' || v === true)) out[k] = v
  }
  return out as unknown as StepState
}

/** The log entry of a `log` event. */
export function logEntry(e: EventRecord, d: Fields): LogEntry {
  const level = LEVELS.includes(d.level) ? (d.level as LogLevel) : 'info'
  const ts = toText(e.ts)
  const msg = toText(d.msg)
  const step = e.step
  const out: { -readonly [K in keyof LogEntry]: LogEntry[K] } = isName(step)
    ? { id: e.id, ts, step, level, msg }
    : { id: e.id, ts, level, msg }
  if (isRecord(d.fields)) out.fields = d.fields
  return out
}
