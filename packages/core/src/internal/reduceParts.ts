// The persistent parts behind a FlowState, so that applyEvent costs O(1)
// per `log` and `state.set` event and never mutates an older state.
//
// A FlowState has plain own data fields, except `logs` and `state`: own
// enumerable getters over these parts, computed on first read and cached.
// Both are a Chain: an immutable base (the log entries, an array; the state,
// a null-prototype object) plus the operations since it (entries appended;
// keys set or deleted) in a buffer the states of one line of history share.
// The operations are folded into a new base once they outnumber it (and 32),
// which keeps both amortized O(1) per event however long the log or however
// many keys the run sets; a state reads only its own operations, so it never
// sees a newer entry.
//
// applyEvent finds the parts of a state the reducer made through a private
// class field. A state from elsewhere (JSON from the HTTP API, a spread copy)
// has plain data there, and its parts are rebuilt from that data once.

import type { FlowState, LogEntry, QueueWait, StepState } from '../flowState.js'
import type { RunStatus } from '../streamStore.js'
import { isRecord, put, rerunOfData, str, strings } from './reduceData.js'

/** The run-level fields of a FlowState (all but steps, state, logs, lastEventId). */
export interface RunFields {
  runId?: string
  name?: string
  status: RunStatus
  queued?: QueueWait | undefined
  input?: unknown
  startedAt?: string
  completedAt?: string
  duration?: number
  result?: unknown
  error?: string
  cancelReason?: string
  schedule?: { id: string; tick: string }
  parent?: { runId: string; step: string }
  version?: number
  rerunOf?: { runId: string; from?: string }
  children?: number
}

/** The steps map: a null-prototype object. */
export type StepsMap = Record<string, StepState>

/**
 * A log or a state: `base` (never mutated once a reader may see it; `size` entries or keys)
 * plus `n` operations since it, in `ops` as key, value pairs: append `value` (no `key`), or set
 * `key` to `value` (delete it when undefined). The states of one line of history share `ops`;
 * extending the newest one pushes onto it (amortized O(1)), extending an older one copies its
 * part first. While `own` (reduceFlow's private builder, never seen by a reader), operations go
 * straight into `base` instead.
 */
export interface Chain<T> {
  readonly base: T
  readonly size: number
  /** Undefined while `own`. */
  readonly ops: unknown[] | undefined
  readonly n: number
  /** The value, once read. */
  view: T | undefined
}

/** Everything of a FlowState that is not a plain field of its own. */
export interface Parts {
  readonly run: RunFields
  readonly logs: Chain<readonly LogEntry[]>
  readonly kv: Chain<Record<string, unknown>>
  readonly steps: StepsMap
}

const RUN_STATUSES: readonly unknown[] = ['pending', 'queued', 'running', 'awaiting', 'completed', 'failed', 'canceled']

/** Parts of an empty state, with their own bases; `own`: for a private builder, that will {@link handOut} them. */
export function emptyParts(own?: boolean): Parts {
  return {
    run: { status: 'pending' },
    logs: chain([], own),
    kv: chain(Object.create(null), own),
    steps: Object.create(null),
  }
}

/** The parts a private builder made, as a state may hold them (further operations no longer touch their bases). */
export function handOut(parts: Parts): Parts {
  return { run: parts.run, logs: chain(parts.logs.base), kv: chain(parts.kv.base), steps: parts.steps }
}

/**
 * The FlowState objects the reducer makes: plain own data fields, plus own
 * enumerable `state` and `logs` getters over the private parts. The getters
 * are shared functions put in place with `Object.defineProperty`, which V8
 * does ~4× faster than it builds an object literal with getters.
 */
class FlowStateObject {
  readonly #parts: Parts
  // `declare`: no class-field definitions before the constructor's assignments.
  declare readonly state: Readonly<Record<string, unknown>>
  declare readonly logs: readonly LogEntry[]
  declare readonly runId: string | undefined
  declare readonly name: string | undefined
  declare readonly status: RunStatus
  declare readonly queued: QueueWait | undefined
  declare readonly input: unknown
  declare readonly startedAt: string | undefined
  declare readonly completedAt: string | undefined
  declare readonly duration: number | undefined
  declare readonly result: unknown
  declare readonly error: string | undefined
  declare readonly cancelReason: string | undefined
  declare readonly schedule: { readonly id: string; readonly tick: string } | undefined
  declare readonly parent: { readonly runId: string; readonly step: string } | undefined
  declare readonly version: number | undefined
  declare readonly rerunOf: { readonly runId: string; readonly from?: string } | undefined
  declare readonly children: number | undefined
  declare readonly steps: StepsMap
  declare readonly lastEventId: string | undefined

  constructor(parts: Parts, lastEventId: string | undefined) {
    const run = parts.run
    this.#parts = parts
    this.runId = run.runId
    this.name = run.name
    this.status = run.status
    this.queued = run.status === 'queued' ? run.queued : undefined
    this.input = run.input
    this.startedAt = run.startedAt
    this.completedAt = run.completedAt
    this.duration = run.duration
    this.result = run.result
    this.error = run.error
    this.cancelReason = run.cancelReason
    this.schedule = run.schedule
    this.parent = run.parent
    this.version = run.version
    this.rerunOf = run.rerunOf
    this.children = run.children
    this.steps = parts.steps
    Object.defineProperty(this, 'state', FlowStateObject.#stateProp)
    Object.defineProperty(this, 'logs', FlowStateObject.#logsProp)
    this.lastEventId = lastEventId
  }

  static #stateProp: PropertyDescriptor = {
    enumerable: true,
    get(this: FlowStateObject) {
      return view(this.#parts.kv)
    },
  }

  static #logsProp: PropertyDescriptor = {
    enumerable: true,
    get(this: FlowStateObject) {
      return view(this.#parts.logs)
    },
  }

  /** The parts of `state` when this class made it. */
  static partsOf(state: object): Parts | undefined {
    return #parts in state ? (state as FlowStateObject).#parts : undefined
  }
}

/** The public FlowState over `parts`: one object shape for every state. */
export function composeState(parts: Parts, lastEventId: string | undefined): FlowState {
  return new FlowStateObject(parts, lastEventId)
}

/** True when the reducer made `state` (its `lastEventId` is then a valid id or absent). */
export function isOwnState(state: object): boolean {
  return FlowStateObject.partsOf(state) !== undefined
}

/** The parts of `state`: its own if the reducer made it, else rebuilt from its data. */
export function partsOf(state: FlowState): Parts {
  return FlowStateObject.partsOf(state) ?? foreignParts(state, state.logs)
}

/** A FlowState's run fields that a state from elsewhere keeps, and how each is read (a kept value is not undefined). */
const FOREIGN: ReadonlyArray<readonly [keyof RunFields, (v: unknown) => unknown]> = [
  ['runId', str],
  ['name', str],
  ['queued', (v) => (isRecord(v) ? v : undefined)],
  ['input', (v) => v],
  ['startedAt', str],
  ['completedAt', str],
  ['duration', number],
  ['result', (v) => v],
  ['error', str],
  ['cancelReason', str],
  ['schedule', (v) => strings(v, 'id', 'tick')],
  ['parent', (v) => strings(v, 'runId', 'step')],
  ['version', number],
  ['rerunOf', rerunOfData],
  ['children', number],
]

function number(v: unknown): number | undefined {
  return typeof v === 'number' ? v : undefined
}

function foreignParts(state: FlowState, logs: unknown): Parts {
  const s = state as unknown as Record<string, unknown>
  const run: RunFields = { status: RUN_STATUSES.includes(s.status) ? (s.status as RunStatus) : 'pending' }
  for (const [k, read] of FOREIGN) put(run, k, read(s[k]))
  return {
    run,
    logs: chain(Array.isArray(logs) ? logs : []),
    kv: chain(Object.assign(Object.create(null), isRecord(s.state) ? s.state : undefined)),
    steps: Object.assign(Object.create(null), isRecord(s.steps) ? s.steps : undefined),
  }
}

function chain<T extends object>(base: T, own?: boolean): Chain<T> {
  const size = Array.isArray(base) ? base.length : Object.keys(base).length
  return { base, size, ops: own ? undefined : [], n: 0, view: undefined }
}

function view<T extends object>(c: Chain<T>): T {
  if (c.n === 0) return c.base
  c.view ??= fold(c.base, c.ops!, c.n)
  return c.view
}

function fold<T extends object>(base: T, ops: unknown[], n: number): T {
  const out = (Array.isArray(base) ? base.slice() : Object.assign(Object.create(null), base)) as T
  for (let i = 0; i < 2 * n; i += 2) apply(out, ops[i] as string | undefined, ops[i + 1])
  return out
}

function apply(out: object, key: string | undefined, value: unknown): void {
  if (key === undefined) (out as unknown[]).push(value)
  else if (value === undefined) delete (out as Record<string, unknown>)[key]
  else (out as Record<string, unknown>)[key] = value
}

/**
 * `c` with one more operation: `value` appended (no `key`), or `key` set to `value` (deleted
 * when undefined); `c` and every state using it are unchanged. The operations are folded into a
 * new base once there are more of them than the base has entries (and than 32).
 */
export function extend<T extends object>(c: Chain<T>, key: string | undefined, value: unknown): Chain<T> {
  if (c.ops === undefined) {
    apply(c.base, key, value)
    return c
  }
  const n = c.n + 1
  const ops = c.ops.length === 2 * c.n ? c.ops : c.ops.slice(0, 2 * c.n)
  ops.push(key, value)
  return n > 32 && n > c.size ? chain(fold(c.base, ops, n)) : { base: c.base, size: c.size, ops, n, view: undefined }
}
