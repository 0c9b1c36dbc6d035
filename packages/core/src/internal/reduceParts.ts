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
import { isRecord, NO_FIELDS } from './reduceData.js'
import { readRun } from './reduceRun.js'

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
 * A log or a state, persistent: a node that adds one operation to `prev` (append `value` when
 * `key` is undefined, else set `key` to `value`, deleting it when undefined), or a base whose
 * `view` is known. A node's `view` is computed on first read and cached; the node then becomes a
 * base (`n` 0, `size` entries or keys) and lets go of `prev`. Extending a chain past 32
 * operations and past its base's size folds them at once, so a log or a state that is never
 * read still costs amortized O(1) per event and keeps no more than its size in operations.
 */
export interface Chain<T> {
  prev?: Chain<T> | undefined
  readonly key?: string | undefined
  readonly value?: unknown
  /** Operations since the base. */
  n: number
  /** Entries or keys of the base. */
  size: number
  view?: T | undefined
}

/** Everything of a FlowState that is not a plain field of its own. */
export interface Parts {
  readonly run: RunFields
  readonly logs: Chain<readonly LogEntry[]>
  readonly kv: Chain<Record<string, unknown>>
  readonly steps: StepsMap
}

/** Parts of an empty state, with their own bases. */
export function emptyParts(): Parts {
  return { run: readRun(NO_FIELDS), logs: chain([]), kv: chain(Object.create(null)), steps: Object.create(null) }
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
    this.#parts = parts
    // runId … children, in that order: every run object has all of them (see readRun)
    Object.assign(this, parts.run)
    if (this.status !== 'queued') (this as { queued: unknown }).queued = undefined
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

/** The parts of `state`: its own if the reducer made it, else rebuilt from its data. */
export function partsOf(state: object): Parts {
  return FlowStateObject.partsOf(state) ?? foreignParts(state)
}

function foreignParts(state: object): Parts {
  const s = state as Record<string, unknown>
  return {
    run: readRun(s),
    logs: chain(Array.isArray(s.logs) ? s.logs : []),
    kv: chain(Object.assign(Object.create(null), isRecord(s.state) ? s.state : undefined)),
    steps: Object.assign(Object.create(null), isRecord(s.steps) ? s.steps : undefined),
  }
}

/** A base: `view` as it is. */
function chain<T extends object>(view: T): Chain<T> {
  return { prev: undefined, n: 0, size: Array.isArray(view) ? view.length : Object.keys(view).length, view }
}

/** The value of `c`: its base with the operations since it applied, on a copy. */
function view<T extends object>(c: Chain<T>): T {
  if (c.view === undefined) {
    const ops: Chain<T>[] = []
    let base = c
    for (; base.view === undefined; base = base.prev!) ops.push(base)
    const out = (Array.isArray(base.view) ? base.view.slice() : Object.assign(Object.create(null), base.view)) as Record<string, unknown>
    for (let i = ops.length; i--; ) {
      const { key, value } = ops[i]!
      if (key === undefined) (out as unknown as unknown[]).push(value)
      else if (value === undefined) delete out[key]
      else out[key] = value
    }
    Object.assign(c, chain(out))
  }
  return c.view!
}

/**
 * `c` with one more operation: `value` appended (no `key`), or `key` set to `value` (deleted
 * when undefined); `c` and every state using it are unchanged.
 */
export function extend<T extends object>(c: Chain<T>, key: string | undefined, value: unknown): Chain<T> {
  const next: Chain<T> = { prev: c, key, value, n: c.n + 1, size: c.size, view: undefined }
  if (next.n > 32 && next.n > next.size) view(next)
  return next
}
