import { compareEventIds, isEventId } from './eventIds.js'
import type { EventRecord } from './events.js'
import type { FlowState } from './flowState.js'
import { argumentError } from './internal/argumentError.js'
import { foldEvent } from './internal/foldEvent.js'
import { isRecord } from './internal/reduceData.js'
import { emptyParts, FlowStateObject } from './internal/reduceParts.js'

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
  const until = opts?.until
  if (until !== undefined && !isEventId(until))
    throw argumentError(`Invalid reduceFlow until ${JSON.stringify(until)}: pass an event id "<ms>-<seq>".`)
  let parts = emptyParts()
  let last: string | undefined
  // anything not iterable reads as no events (a string's characters are no events either); the
  // valid events in id order (stable: the first of equal ids comes first, and the others are
  // skipped as applyEvent skips them), up to `until`
  for (const e of Array.from((events as Partial<Iterable<unknown>> | undefined)?.[Symbol.iterator] ? events : [])
    .filter((e): e is EventRecord => isRecord(e) && isEventId(e.id))
    .sort((a, b) => compareEventIds(a.id, b.id)))
    if ((last === undefined || compareEventIds(e.id, last) > 0) && (until === undefined || compareEventIds(e.id, until) <= 0)) {
      parts = foldEvent(parts, e)
      last = e.id
    }
  return new FlowStateObject(parts, last)
}

/** Options of {@link reduceFlow}. */
export interface ReduceOptions {
  /** Fold only the events whose id is at or before this one (time travel); any `<ms>-<seq>` id, stored or not. */
  until?: string | undefined
}
