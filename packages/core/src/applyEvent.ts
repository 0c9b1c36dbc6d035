import { compareEventIds, isEventId } from './eventIds.js'
import type { EventRecord } from './events.js'
import type { FlowState } from './flowState.js'
import { foldEvent } from './internal/foldEvent.js'
import { isRecord } from './internal/reduceData.js'
import { FlowStateObject } from './internal/reduceParts.js'

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
 * its logs and state are then copied once, on the first event. Its fields
 * are taken as they are (a status that is none reads as `pending`), so
 * pass what a reducer made: a leanflow server's JSON, a copy of a state.
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
  // anything but a state reads as the empty one
  const from: Partial<FlowState> = isRecord(state) ? state : {}
  const last = from.lastEventId
  if (isEventId(last) && compareEventIds(event.id, last) <= 0) return state
  return new FlowStateObject(foldEvent(FlowStateObject.partsOf(from), event), event.id)
}
