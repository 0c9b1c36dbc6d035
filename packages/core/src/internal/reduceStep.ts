// Step-level transitions and the `log` reader, shared by reduceFlow and applyEvent through
// foldEvent; the steps map is copied on its first write in an event.

import type { EventRecord, LogLevel } from '../events.js'
import type { LogEntry, StepAwait, StepState } from '../flowState.js'
import { attemptOf, type Fields, fieldsOf, isName, isRecord, nullProto, num, put, queuedOf, str, toText } from './reduceData.js'
import type { StepsMap } from './reduceParts.js'
import { isTerminalStatus } from './reduceRun.js'

/** The step called `name`: the map's (it has a null prototype: every name is its own), else a new one. */
function stepAt(map: StepsMap, name: string): StepState {
  const s = map[name]
  return isRecord(s) ? s : { name, status: 'pending', attempt: 0 }
}

type Draft = { -readonly [K in keyof StepState]: StepState[K] }

const LEVELS: readonly unknown[] = ['debug', 'info', 'warn', 'error'] satisfies LogLevel[]

/** An await's fields copied from its `step.await.*` data when they are strings (each kind has its own: `event` `eventKind`; `trigger` `triggerId` and `triggerType`; `run` `childRunId` and `flow`). */
const AWAIT_FIELDS = ['eventKind', 'triggerId', 'triggerType', 'childRunId', 'flow'] as const

/**
 * A step's optional fields, in the order a step shows them (`name`, `status`, `attempt` come
 * first), each with the statuses it lasts in (any, when none is named): what a step waits for
 * lasts while it waits, a result and how long it took while completed, `completedAt` while
 * completed or failed, `nextRetryAt` while retrying, and `copied` marks a completed step. A
 * transition leaves the others as they were; `clean` drops what the new status does not keep.
 */
const STEP_KEYS: Readonly<Record<string, string>> = {
  needs: '',
  input: '',
  startedAt: '',
  completedAt: 'completed failed',
  duration: 'completed',
  result: 'completed',
  error: '',
  nextRetryAt: 'retrying',
  awaiting: 'awaiting',
  pending: 'awaiting',
  queued: 'queued',
  recoveries: '',
  copied: 'completed',
} satisfies Record<Exclude<keyof StepState, 'name' | 'status' | 'attempt'>, string>

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
    // (only step.* kinds: calling nextStep on every other event makes the fold ~2× slower)
    if (/^step\./.test(kind as string)) next = nextStep(next, e, d, kind as string)
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
  if (ended)
    for (const n in out) {
      const s = out[n]
      if (isRecord(s) && !isTerminalStatus(s.status)) out = write(out, map, n, canceled(s))
    }
  return out
}

/** `out` with `step` as `n`; `out` is first copied while it is still the prior `map`. */
function write(out: StepsMap, map: StepsMap, n: string, step: StepState): StepsMap {
  if (out === map) out = nullProto(map)
  out[n] = step
  return out
}

function canceled(s: StepState): StepState {
  return clean({ ...s, status: 'canceled' })
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
      break
    case 'step.started':
      s.status = 'running'
      if (d.recovered === true) {
        // a worker took the step over after its worker died: the same attempt, running again
        s.recoveries = (prev.recoveries ?? 0) + 1
        break
      }
      s.attempt = attempt ?? prev.attempt + 1
      s.startedAt = prev.startedAt ?? ts
      put(s, 'input', d.input)
      s.error = undefined
      break
    case 'step.completed':
      s.status = 'completed'
      s.completedAt = ts
      s.duration = num(d.duration)
      s.result = d.result
      s.error = undefined
      // copied by a rerun from the run it reruns: it did not run here
      s.copied = d.copied === true || undefined
      break
    case 'step.failed': {
      const retry = d.willRetry === true
      s.status = retry ? 'retrying' : 'failed'
      s.error = toText(d.error)
      s.nextRetryAt = str(d.nextRetryAt)
      s.completedAt = ts
      break
    }
    case 'step.retry': {
      // meta.attempt is the attempt about to start, not the current one.
      s.status = 'retrying'
      s.attempt = prev.attempt
      // the failure's nextRetryAt, else ts + delayMs (none when either is missing: an invalid date)
      try {
        s.nextRetryAt ??= new Date(Date.parse(ts as string) + (num(d.delayMs) as number)).toISOString()
      } catch {}
      break
    }
    default: {
      // the await kinds (its `type` the kind's last part), and the two kinds that end an await
      const type = /^step\.await\.(time|event|trigger|run)$/.exec(kind)?.[1]
      if (!type && kind !== 'step.resumed' && kind !== 'step.await.timeout') return prev
      // A `step.await.*` joins the pending awaits, replacing one of the same position; a
      // `step.resumed` or `step.await.timeout` ends the one of its position (every one, for an
      // event without a position: one await at a time). The step awaits while any is pending.
      const pos = num(d.position)
      const pending = !type && pos === undefined ? [] : (Array.isArray(prev.pending) ? prev.pending : []).filter((p) => p?.position !== pos)
      if (type) {
        // `until`: when a time await resumes, when another times out
        const a: Record<string, unknown> = { type }
        put(a, 'until', str(d.resumeAt ?? d.timeoutAt))
        for (const f of AWAIT_FIELDS) put(a, f, str(d[f]))
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

/** A step with its keys in one order and no undefined value (so states compare and serialize alike). */
function clean(s: Draft): StepState {
  const out: Record<string, unknown> = { name: s.name, status: s.status, attempt: s.attempt }
  for (const k in STEP_KEYS) {
    const v = s[k as keyof Draft]
    const only = STEP_KEYS[k]
    if (v !== undefined && (only || s.status).includes(s.status)) out[k] = v
  }
  return out as unknown as StepState
}

/** The log entry of a `log` event. */
export function logEntry(e: EventRecord, d: Fields): LogEntry {
  const level = LEVELS.includes(d.level) ? (d.level as LogLevel) : 'info'
  const ts = toText(e.ts)
  const msg = toText(d.msg)
  const step = e.step
  const out: { -readonly [K in keyof LogEntry]: LogEntry[K] } = { id: e.id, ts } as LogEntry
  if (isName(step)) out.step = step
  out.level = level
  out.msg = msg
  if (isRecord(d.fields)) out.fields = d.fields
  return out
}
