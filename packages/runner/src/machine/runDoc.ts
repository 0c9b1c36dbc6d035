import type { ExternalEvent } from '@leanflow/core'
import type { ChildOutcome } from './awaits/run.js'

/**
 * The run document: what the runner keeps of each run in the store's run state, written by
 * compare-and-set. Every decision of the machine reads and changes it; the event log is its
 * public trace.
 */

/** What the machine knows of a flow: its name, version and each step's needs (no handlers). */
export interface FlowGraph {
  name: string
  /** @default 1 */
  version?: number | undefined
  steps: Readonly<Record<string, { needs?: readonly string[] | undefined }>>
  /** Shapes the run's result from every step's result (`defineFlow({ result })`); must be pure. */
  result?: ((results: Readonly<Record<string, unknown>>) => unknown) | undefined
}

/** Status of a step in the run document (the runner's view, not the reducer's). */
export type StepStatus = 'pending' | 'ready' | 'running' | 'suspended' | 'retrying' | 'completed' | 'failed'
export type AwaitState = 'pending' | 'resolved' | 'timedOut' | 'canceled'

export interface DoRec {
  t: 'do'
  name: string
  value?: unknown
}
interface AwaitBase {
  state: AwaitState
  /** Store time it was registered. */
  since: number
  /** Store time it was resolved or timed out. */
  doneAt?: number
  timeoutAt?: number
  /** Attempt that registered it (job ids). */
  attempt: number
  /**
   * The job whose execution recorded it, while that job may not have carried out its
   * announcement (its re-delivery announces it again, whoever holds the step by then).
   */
  by?: string
  /**
   * Resolved while its step did not wait on it (a trigger whose `wait()` comes later): its
   * `step.resumed` goes out with the step's next resume, since a replay hands it over unannounced.
   */
  quiet?: true
}
export interface TimeRec extends AwaitBase {
  t: 'time'
  at: number
}
export interface EventRec extends AwaitBase {
  t: 'event'
  kind: string
  match?: Record<string, unknown>
  event?: ExternalEvent
}
export interface TriggerRec extends AwaitBase {
  t: 'trigger'
  type: string
  id: string
  payload?: unknown
  value?: unknown
}
export interface RunRec extends AwaitBase {
  t: 'run'
  /** The child's flow. */
  flow: string
  /** Chosen before the child is started (its end finds this record whatever the timing). */
  childRunId: string
  /** How the child ended (set when resolved). */
  outcome?: ChildOutcome
  /** The child's input, kept while the await is pending (a crash before the child started: it is started again). */
  input?: unknown
  /** The child flow's version whose schema checked `input` (the child is started on it; older records: the highest held). */
  version?: number
}
export type AwaitRec = TimeRec | EventRec | TriggerRec | RunRec
/** A recorded call of a step, by call order: a `ctx.do` result or an await. */
export type Rec = DoRec | AwaitRec

/** The job of a step that waits for a step-level concurrency slot: woken (queued again) when one frees. */
export interface StepWait {
  job: 'step' | 'resume' | 'time' | 'timeout'
  /** Record position of an await job. */
  pos?: number
  /** Its slot token: whoever ends the wait (`wake`, `unwait`) goes on with this token's slot. */
  slot: string
  /**
   * The waiting job's id when it owns the running step (a re-delivered job taking over its dead
   * execution): the job that ends the wait becomes the owner, so that it can take the step over.
   */
  owner?: string
}

/** The job a `wake` queued for a step's wait (of slot token `slot`), kept so that its backstop can queue it again. */
export interface StepWoken {
  slot: string
  id: string
  name: StepWait['job']
  data: Record<string, unknown>
}

export interface StepDoc {
  status: StepStatus
  /** Waiting for a step-level concurrency slot (`step.queued` logged). */
  wait?: StepWait
  /**
   * The job the last `wake` queued: should the process that woke the step die before queuing it,
   * the waiting job's backstop (same slot token) queues it again (the queue keeps one per id).
   */
  woken?: StepWoken
  /** The attempt running, suspended, or scheduled next. */
  attempt: number
  /** Fencing token of the execution that holds the step. */
  lease?: string
  /** Job id that holds the lease (its re-delivery may take the step over). */
  owner?: string
  /** Store-clock ms the current attempt started. */
  startedAt?: number
  nextRetryAt?: number
  /** Delay of the scheduled retry (ms). */
  retryDelayMs?: number
  /** ms from the attempt's start to its completion. */
  duration?: number
  /** Record position the suspended step waits on (the first, when it waits on several). */
  waitingOn?: number
  /** Every record position the suspended step waits on, when more than one (parallel awaits). */
  waitingAll?: number[]
  result?: unknown
  error?: string
  /** Copied as completed from the run this one reruns (`runner.rerun`): it never runs here. */
  copied?: true
  records: Rec[]
}

/** Why a queued run waits (the last `flow.queued` logged) and how many were logged. */
export interface QueuedDoc {
  reason: 'concurrency' | 'rateLimit' | 'debounce'
  key?: string
  n: number
  /** The `admit` job queued with the run (removed when it is admitted before it fires). */
  job?: string
}

export interface RunDoc {
  flow: string
  /** The flow version the run is pinned to (`flow.started.data.version`); absent in documents written before versions: version 1. */
  version?: number
  /** `queued`: waiting for flow control to admit it (no step has started). */
  status: 'queued' | 'running' | 'completed' | 'failed' | 'canceled'
  /** Present while queued. */
  queued?: QueuedDoc
  /** The run and await that started this run (`ctx.invoke`): told when this run ends. */
  parent?: { runId: string; step: string; pos: number }
  /** Admission priority of a queued run (absent: 0). */
  priority?: number
  /**
   * The run went through admission (run-level concurrency, rate limit or singleton when it
   * started): its end gives back what it holds in the store's limits even when a later deploy's
   * definition of the flow has none.
   */
  limited?: true
  /** The input of a debounced run: its last call's (handlers get it instead of `flow.started`'s). */
  input?: unknown
  startedAt: number
  endedAt?: number
  /** The lease of the execution whose write ended the run (its `endFence`), when one did. */
  endedBy?: string
  /** External-event position when the run started: only later events match its awaits. */
  pos: number
  steps: Record<string, StepDoc>
  /** External event ids consumed by an await of this run. */
  consumed: string[]
  /** `ctx.state` values. */
  state: Record<string, unknown>
  error?: string
  reason?: string
  /** The run's result when its flow shapes it (`defineFlow({ result })`), computed at completion. */
  result?: unknown
  /**
   * The `startFlow` idempotency lookup (`<flow>/<key>`) that maps to this run: retired with the
   * run (it expires with the run's keys), so a key never outlives its run.
   */
  startKey?: string
  /** The token of the write that stored this version (unique per write): see `RunStates`. */
  w?: string
}

/**
 * A fresh document: steps without needs are `ready` for attempt 1. The run's input is not in
 * it (it would be rewritten by every change): handlers get it from `flow.started`.
 */
export function newRunDoc(flow: FlowGraph, now: number, pos: number): RunDoc {
  const steps: Record<string, StepDoc> = {}
  for (const [name, def] of Object.entries(flow.steps)) {
    steps[name] = { status: (def.needs ?? []).length === 0 ? 'ready' : 'pending', attempt: 1, records: [] }
  }
  return { flow: flow.name, version: flow.version ?? 1, status: 'running', startedAt: now, pos, steps, consumed: [], state: {} }
}

/** True once the run completed, failed or was canceled. */
/** What a run's end gives back: its slots in the flow's run-level limits (`held` when it went through admission). */
export function releaseOf(doc: RunDoc): { release: string; held?: true } {
  return doc.limited ? { release: doc.flow, held: true } : { release: doc.flow }
}

export function isEnded(doc: RunDoc): boolean {
  return doc.status !== 'running' && doc.status !== 'queued'
}

/** Steps whose needs have all completed and that still wait: marks them `ready` and returns them. */
export function promoteReady(doc: RunDoc, flow: FlowGraph): string[] {
  const ready: string[] = []
  for (const [name, def] of Object.entries(flow.steps)) {
    const s = doc.steps[name]
    if (s?.status !== 'pending') continue
    if ((def.needs ?? []).every((d) => doc.steps[d]?.status === 'completed')) {
      s.status = 'ready'
      ready.push(name)
    }
  }
  return ready
}

/** Steps that no other step needs. */
export function sinkSteps(flow: FlowGraph): string[] {
  const needed = new Set(Object.values(flow.steps).flatMap((d) => d.needs ?? []))
  return Object.keys(flow.steps).filter((s) => !needed.has(s))
}

/** Every step `step` depends on, directly or transitively. */
export function ancestors(flow: FlowGraph, step: string): string[] {
  const out = new Set<string>()
  const walk = (s: string) => {
    for (const d of flow.steps[s]?.needs ?? []) {
      if (!out.has(d)) {
        out.add(d)
        walk(d)
      }
    }
  }
  walk(step)
  return [...out]
}

/** True when the suspended step waits on the await at `pos` (one of several, with parallel awaits). */
export function waitsOn(s: StepDoc, pos: number): boolean {
  return s.status === 'suspended' && (s.waitingOn === pos || (s.waitingAll?.includes(pos) ?? false))
}

/** How many child runs the run's pending awaits still wait on (`ctx.invoke`). */
export function pendingChildren(doc: RunDoc): number {
  let n = 0
  for (const s of Object.values(doc.steps)) for (const r of s.records) if (r.t === 'run' && r.state === 'pending') n++
  return n
}

/** Cancels the pending awaits of a step (it ended for good). */
export function closeAwaits(step: StepDoc, state: AwaitState, now: number): void {
  for (const r of step.records) {
    if (r.t !== 'do' && r.state === 'pending') {
      r.state = state
      r.doneAt = now
    }
  }
}

/** Sets an own property safely (`__proto__` keys included). */
export function setOwn(obj: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true })
}
