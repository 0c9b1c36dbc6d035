import { compareEventIds, isEventId } from './eventIds.js'
import type { EventRecord } from './events.js'
import type { FlowState } from './flowState.js'
import { argumentError } from './internal/argumentError.js'
import { foldEvent } from './internal/foldEvent.js'
import { isRecord } from './internal/reduceData.js'
import { composeState, emptyParts } from './internal/reduceParts.js'

/**
 * Folds a run's events into its state. Pure (no I/O, no clock), the same
 * code on the server and in a browser.
 *
 * Total: it orders the events by id (numerically: `9-0` before `10-0`),
 * ignores duplicates (same id; the first one given wins), skips anything
 * that is not an event with a valid id, and never throws on unknown kinds,
 * unknown steps or missing or garbage `data`. It does not mutate `events`.
 * The result equals folding the same events, in id order, with
 * {@link applyEvent} from {@link emptyFlowState}.
 *
 * @example
 * ```ts
 * import { reduceFlow } from '@leanflow/core'
 *
 * const state = reduceFlow(await store.read(runId, { limit: 100_000 }))
 * state.status              // 'awaiting'
 * state.steps.approve       // { name: 'approve', status: 'awaiting', attempt: 1, awaiting: { type: 'trigger', triggerId: '…' }, … }
 * state.logs.at(-1)?.msg    // 'waiting for approval'
 * ```
 *
 * Time travel: with `until`, only the events whose id is at or before it are folded — the
 * state as it was right after that event (an id between two events gives the state after the
 * earlier one).
 *
 * @example
 * ```ts
 * const events = await store.read(runId)
 * const then = reduceFlow(events, { until: events[3]!.id }) // as it was after the 4th event
 * ```
 */
export function reduceFlow(events: Iterable<EventRecord>, opts?: ReduceOptions): FlowState {
  let ordered = inIdOrder(events)
  const until = opts?.until
  if (until !== undefined) {
    if (!isEventId(until))
      throw argumentError(`Invalid reduceFlow until ${JSON.stringify(until)}: pass an event id "<ms>-<seq>" (e.g. an event's id).`)
    ordered = ordered.filter((e) => compareEventIds(e.id, until) <= 0)
  }
  let parts = emptyParts()
  for (const e of ordered) parts = foldEvent(parts, e)
  return composeState(parts, ordered.at(-1)?.id)
}

/** Options of {@link reduceFlow}. */
export interface ReduceOptions {
  /** Fold only the events whose id is at or before this one (time travel); any `<ms>-<seq>` id, stored or not. */
  until?: string | undefined
}

/** The valid events, sorted by id without duplicates; `events` itself when it already is (the usual case, checked in one pass). */
function inIdOrder(events: Iterable<EventRecord>): readonly EventRecord[] {
  const list: readonly unknown[] = Array.isArray(events)
    ? events
    : typeof events === 'object' && typeof events?.[Symbol.iterator] === 'function'
      ? Array.from(events)
      : []
  for (let i = 0; i < list.length; i++) {
    const e = list[i]
    if (!isRecord(e) || !isEventId(e.id) || (i > 0 && compareEventIds((list[i - 1] as EventRecord).id, e.id) >= 0))
      return list
        .filter((e): e is EventRecord => isRecord(e) && isEventId(e.id))
        .sort((a, b) => compareEventIds(a.id, b.id)) // stable: the first of equal ids stays first
        .filter((e, i, sorted) => i === 0 || compareEventIds(sorted[i - 1]!.id, e.id) !== 0)
  }
  return list as EventRecord[]
}
