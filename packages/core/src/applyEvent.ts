import { compareEventIds, isEventId } from './eventIds.js'
import type { EventRecord } from './events.js'
import { emptyFlowState, type FlowState, type StepState } from './flowState.js'
import { isRecord } from './internal/reduceData.js'
import { appendLog, composeState, isOwnState, type Parts, partsOf, type StepsMap, setKv, stepsOf } from './internal/reduceParts.js'
import { isTerminalStatus, nextRun, settleStatus } from './internal/reduceRun.js'
import { logEntry, reduceSteps, type StepsAccess, stateSet } from './internal/reduceStep.js'

/**
 * Folds one event into a state and returns the next state: the incremental
 * form of {@link reduceFlow} that a live view uses (`follow`, SSE).
 *
 * Pure and O(1) per event (amortized; a step event also copies the steps
 * map, which has one entry per step). It never mutates `state` or `event`:
 * the result shares unchanged parts with `state`, and `state` still shows
 * what it showed before. An event whose id is not greater than
 * `state.lastEventId` (a duplicate or a late arrival), or that is not an
 * event with a valid id, returns `state` itself. So folding a log in id
 * order, duplicates included, equals `reduceFlow` of it. Unknown kinds,
 * unknown steps and missing or garbage `data` never throw.
 *
 * `state` may also come from elsewhere, e.g. `GET /runs/:runId` as JSON:
 * its logs and state are then copied once, on the first event.
 *
 * @example
 * ```ts
 * import { applyEvent, emptyFlowState } from '@leanflow/core'
 *
 * let state = emptyFlowState()
 * for await (const event of store.follow(runId)) {
 *   state = applyEvent(state, event)
 *   render(state) // a new object whenever something changed
 * }
 * ```
 */
export function applyEvent(state: FlowState, event: EventRecord): FlowState {
  if (!isRecord(event) || !isEventId(event.id)) return state
  if (!isRecord(state)) return applyEvent(emptyFlowState(), event)
  const last = state.lastEventId
  if (last !== undefined && (isOwnState(state) || isEventId(last)) && compareEventIds(event.id, last) <= 0) return state
  const parts = partsOf(state)
  const run = nextRun(parts.run, event)
  let steps = stepsOf(state)
  let stepsChanged = false
  const ends = run !== parts.run && isTerminalStatus(run.status) && !isTerminalStatus(parts.run.status)
  if (event.step !== undefined || event.kind === 'flow.started' || ends) {
    const access = new CopyOnWriteSteps(steps)
    reduceSteps(access, event, parts.run.status === 'pending', isTerminalStatus(run.status))
    steps = access.map
    stepsChanged = access.copied
  }
  let logs = parts.logs
  let kv = parts.kv
  if (event.kind === 'log') logs = appendLog(logs, logEntry(event))
  else if (event.kind === 'state.set') {
    const set = stateSet(event)
    if (set !== undefined) kv = setKv(kv, set.key, set.value)
  }
  let settled = run
  if (run !== parts.run || stepsChanged) {
    const status = settleStatus(run.status, steps)
    if (status !== run.status) settled = { ...run, status }
  }
  const next: Parts = settled === parts.run && logs === parts.logs && kv === parts.kv ? parts : { run: settled, logs, kv }
  return composeState(next, steps, event.id)
}

/** Reads from the prior map; copies it (into a null-prototype object) on the first write. */
class CopyOnWriteSteps implements StepsAccess {
  map: StepsMap
  copied = false
  constructor(map: StepsMap) {
    this.map = map
  }
  get(name: string): StepState | undefined {
    if (!Object.hasOwn(this.map, name)) return undefined
    const s = this.map[name]
    return isRecord(s) ? s : undefined
  }
  set(name: string, step: StepState): void {
    if (!this.copied) {
      this.map = Object.assign(Object.create(null), this.map)
      this.copied = true
    }
    this.map[name] = step
  }
  names(): string[] {
    return Object.keys(this.map)
  }
}
