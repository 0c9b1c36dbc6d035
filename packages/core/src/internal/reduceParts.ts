// The parts behind a FlowState: the run's fields, its steps, and its log and state as chains
// (chain.ts), so that applyEvent costs O(1) per `log` and `state.set` event and never mutates an
// older state.
//
// A FlowState has plain own data fields, except `logs` and `state`: own enumerable getters over
// the chains, computed on first read and cached, so a state never shows a newer entry.
//
// applyEvent finds the parts of a state the reducer made through a private class field. A state
// from elsewhere (JSON from the HTTP API, a spread copy) has plain data there, and its parts are
// rebuilt from that data once.

import type { LogEntry, QueueWait, StepState } from '../flowState.js'
import type { RunStatus } from '../streamStore.js'
import { type Chain, chain, view } from './chain.js'
import { isRecord, nullProto } from './reduceData.js'
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

/** Everything of a FlowState that is not a plain field of its own. */
export interface Parts {
  readonly run: RunFields
  readonly logs: Chain<readonly LogEntry[]>
  readonly kv: Chain<Record<string, unknown>>
  readonly steps: StepsMap
}

/** Parts of an empty state, with their own bases. */
export function emptyParts(): Parts {
  return readParts({})
}

/**
 * The FlowState objects the reducer makes: plain own data fields, plus own
 * enumerable `state` and `logs` getters over the private parts. The getters
 * are shared functions put in place with `Object.defineProperty`, which V8
 * does ~4× faster than it builds an object literal with getters.
 */
export class FlowStateObject {
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
    // the run's fields in their order (every run object has all of them, see readRun)
    Object.assign(this, parts.run)
    this.#parts = parts
    // (the run keeps its last `queued` after it leaves that status: cleared here, as the fold is
    // ~1.6× slower when the transitions clear it)
    if (this.status !== 'queued') this.queued = undefined
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

  /** The parts of `state`: its own if the reducer made it, else rebuilt from its data. */
  static partsOf(state: object): Parts {
    return #parts in state ? (state as FlowStateObject).#parts : readParts(state)
  }
}

/** The parts of a state from elsewhere (a record of anything): its fields read, its logs, state and steps copied once. */
function readParts(state: object): Parts {
  const s = state as Record<string, unknown>
  return {
    run: readRun(s),
    logs: chain(Array.isArray(s.logs) ? s.logs : []),
    kv: chain(nullProto(isRecord(s.state) ? s.state : undefined)),
    steps: nullProto(isRecord(s.steps) ? (s.steps as StepsMap) : undefined),
  }
}
