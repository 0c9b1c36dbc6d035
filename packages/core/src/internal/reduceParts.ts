// The persistent parts behind a FlowState, so that applyEvent costs O(1)
// per `log` and `state.set` event and never mutates an older state.
//
// A FlowState has plain own data fields, except `logs` and `state`: own
// enumerable getters over these parts, computed on first read and cached:
//
// - logs: states share one append-only buffer; each state knows how many
//   entries it has (`n`). Appending to the newest state pushes onto the
//   buffer (amortized O(1)); appending to an older state, or to a buffer that
//   was handed out to a reader, copies it first. A state whose `n` is shorter
//   than the buffer reads a slice, so it never sees newer entries.
// - state: an immutable base object plus a chain of `state.set` operations
//   since it. The chain is folded into a new base once it is longer than the
//   base has keys (and than 32), which keeps `state.set` amortized O(1)
//   however many keys the run sets.
//
// applyEvent finds the parts of a state the reducer made through a private
// class field. A state from elsewhere (JSON from the HTTP API, a spread copy)
// has plain data there, and its parts are rebuilt from that data once.

import type { FlowState, LogEntry, QueueWait, StepState } from '../flowState.js'
import type { RunStatus } from '../streamStore.js'
import { isRecord, rerunOfData, strings } from './reduceData.js'

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

interface LogBuffer {
  readonly arr: LogEntry[]
  /** Handed out to a reader as a state's `logs`: never pushed onto again. */
  shared: boolean
}

/** The first `n` entries of `buf` are this state's logs. */
export interface LogsRef {
  readonly buf: LogBuffer
  readonly n: number
  view?: readonly LogEntry[]
}

interface KvOp {
  readonly key: string
  readonly value: unknown
  readonly del: boolean
  readonly prev: KvOp | undefined
}

/** `base` (never mutated once built) plus `count` operations in `ops` (newest first). */
export interface KvRep {
  readonly base: Record<string, unknown>
  readonly baseSize: number
  readonly ops: KvOp | undefined
  readonly count: number
  view?: Record<string, unknown>
}

/** Everything of a FlowState that is not a plain field of its own. */
export interface Parts {
  readonly run: RunFields
  readonly logs: LogsRef
  readonly kv: KvRep
}

const RUN_STATUSES: ReadonlySet<string> = new Set(['pending', 'queued', 'running', 'awaiting', 'completed', 'failed', 'canceled'])
const MIN_CHAIN = 32

/** Parts of an empty state. Each call has its own buffer. */
export function emptyParts(): Parts {
  return {
    run: { status: 'pending' },
    logs: { buf: { arr: [], shared: false }, n: 0 },
    kv: { base: Object.create(null), baseSize: 0, ops: undefined, count: 0 },
  }
}

/** Parts around the result of a private builder (reduceFlow owns `logs` and `kv`). */
export function partsFrom(run: RunFields, logs: LogEntry[], kv: Record<string, unknown>, kvSize: number): Parts {
  return { run, logs: { buf: { arr: logs, shared: false }, n: logs.length }, kv: { base: kv, baseSize: kvSize, ops: undefined, count: 0 } }
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

  constructor(parts: Parts, steps: StepsMap, lastEventId: string | undefined) {
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
    this.steps = steps
    Object.defineProperty(this, 'state', FlowStateObject.#stateProp)
    Object.defineProperty(this, 'logs', FlowStateObject.#logsProp)
    this.lastEventId = lastEventId
  }

  static #stateProp: PropertyDescriptor = {
    enumerable: true,
    get(this: FlowStateObject) {
      return kvView(this.#parts.kv)
    },
  }

  static #logsProp: PropertyDescriptor = {
    enumerable: true,
    get(this: FlowStateObject) {
      return logsView(this.#parts.logs)
    },
  }

  /** The parts of `state` when this class made it. */
  static partsOf(state: object): Parts | undefined {
    return #parts in state ? (state as FlowStateObject).#parts : undefined
  }
}

/** The public FlowState over `parts`: one object shape for every state. */
export function composeState(parts: Parts, steps: StepsMap, lastEventId: string | undefined): FlowState {
  return new FlowStateObject(parts, steps, lastEventId)
}

/** True when the reducer made `state` (its `lastEventId` is then a valid id or absent). */
export function isOwnState(state: object): boolean {
  return FlowStateObject.partsOf(state) !== undefined
}

/** The parts of `state`: its own if the reducer made it, else rebuilt from its data. */
export function partsOf(state: FlowState): Parts {
  return FlowStateObject.partsOf(state) ?? foreignParts(state, state.logs)
}

function foreignParts(state: FlowState, logs: unknown): Parts {
  const s = state as unknown as Record<string, unknown>
  const run: RunFields = { status: typeof s.status === 'string' && RUN_STATUSES.has(s.status) ? (s.status as RunStatus) : 'pending' }
  if (typeof s.runId === 'string') run.runId = s.runId
  if (typeof s.name === 'string') run.name = s.name
  if (isRecord(s.queued)) run.queued = s.queued as unknown as QueueWait
  if (s.input !== undefined) run.input = s.input
  if (typeof s.startedAt === 'string') run.startedAt = s.startedAt
  if (typeof s.completedAt === 'string') run.completedAt = s.completedAt
  if (typeof s.duration === 'number') run.duration = s.duration
  if (s.result !== undefined) run.result = s.result
  if (typeof s.error === 'string') run.error = s.error
  if (typeof s.cancelReason === 'string') run.cancelReason = s.cancelReason
  const schedule = strings(s.schedule, 'id', 'tick')
  if (schedule !== undefined) run.schedule = schedule
  const parent = strings(s.parent, 'runId', 'step')
  if (parent !== undefined) run.parent = parent
  if (typeof s.version === 'number') run.version = s.version
  const rerunOf = rerunOfData(s.rerunOf)
  if (rerunOf !== undefined) run.rerunOf = rerunOf
  if (typeof s.children === 'number') run.children = s.children
  const arr = Array.isArray(logs) ? (logs as LogEntry[]) : []
  const base: Record<string, unknown> = Object.assign(Object.create(null), isRecord(s.state) ? s.state : undefined)
  return {
    run,
    logs: { buf: { arr, shared: true }, n: arr.length },
    kv: { base, baseSize: Object.keys(base).length, ops: undefined, count: 0 },
  }
}

/** The steps map of `state`; for a state the reducer did not make, a null-prototype copy. */
export function stepsOf(state: FlowState): StepsMap {
  if (FlowStateObject.partsOf(state) !== undefined) return state.steps as StepsMap
  const steps = (state as { steps?: unknown }).steps
  return Object.assign(Object.create(null), isRecord(steps) ? steps : undefined)
}

function logsView(ref: LogsRef): readonly LogEntry[] {
  if (ref.view !== undefined) return ref.view
  const { buf, n } = ref
  if (buf.arr.length === n) {
    buf.shared = true
    ref.view = buf.arr
  } else {
    ref.view = buf.arr.slice(0, n)
  }
  return ref.view
}

/** `ref` with `entry` appended; `ref` and every state using it are unchanged. */
export function appendLog(ref: LogsRef, entry: LogEntry): LogsRef {
  const { buf, n } = ref
  if (!buf.shared && buf.arr.length === n) {
    buf.arr.push(entry)
    return { buf, n: n + 1 }
  }
  const arr = buf.arr.slice(0, n)
  arr.push(entry)
  return { buf: { arr, shared: false }, n: n + 1 }
}

function kvView(rep: KvRep): Record<string, unknown> {
  if (rep.count === 0) return rep.base
  rep.view ??= foldKv(rep.base, rep.ops)
  return rep.view
}

function foldKv(base: Record<string, unknown>, ops: KvOp | undefined): Record<string, unknown> {
  const list: KvOp[] = []
  for (let op = ops; op !== undefined; op = op.prev) list.push(op)
  const out: Record<string, unknown> = Object.assign(Object.create(null), base)
  for (let i = list.length - 1; i >= 0; i--) {
    const op = list[i]!
    if (op.del) delete out[op.key]
    else out[op.key] = op.value
  }
  return out
}

/** `rep` with `key` set to `value` (deleted when `value` is undefined). */
export function setKv(rep: KvRep, key: string, value: unknown): KvRep {
  const ops: KvOp = { key, value, del: value === undefined, prev: rep.ops }
  const count = rep.count + 1
  if (count > MIN_CHAIN && count > rep.baseSize) {
    const base = foldKv(rep.base, ops)
    return { base, baseSize: Object.keys(base).length, ops: undefined, count: 0 }
  }
  return { base: rep.base, baseSize: rep.baseSize, ops, count }
}
