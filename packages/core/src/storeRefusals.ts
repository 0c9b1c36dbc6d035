// The errors every store gives the same way, word for word, for the built-in stores and for custom
// ones: an event id option that is no stream id, a run past `maxEventsPerRun`, a follow position
// the run's history does not hold. A user who swaps the memory store for Redis reads the same message.

import { LeanflowError } from './errors.js'
import { compareEventIds, isEventId } from './eventIds.js'

/** The largest stream id (Redis's): both parts 2^64 - 1. */
export const MAX_EVENT_ID = '18446744073709551615-18446744073709551615'
const MAX_PART = '18446744073709551615'

/**
 * An event id option (`read`'s `after` / `before`, `follow`'s `after`): `undefined`, or a stream
 * id `"<ms>-<seq>"` with each part at most 2^64 - 1; anything else throws `INVALID_ARGUMENT`
 * naming the call, the option and the value.
 *
 * @example
 * ```ts
 * const after = eventIdOption('read', 'after', opts.after) // string | undefined
 * eventIdOption('read', 'after', 'x') // throws: read "after" must be an event id like "1700000000000-0" …
 * ```
 */
export function eventIdOption(call: string, name: string, value: unknown): string | undefined {
  if (value === undefined) return undefined
  if (!isEventId(value)) {
    throw new LeanflowError(
      'INVALID_ARGUMENT',
      `${call} "${name}" must be an event id like "1700000000000-0" ("<ms>-<seq>", the id of a stored event), got ${JSON.stringify(value) ?? String(value)}.`,
    )
  }
  const dash = value.indexOf('-')
  if (
    compareEventIds(`${value.slice(0, dash)}-0`, `${MAX_PART}-0`) > 0 ||
    compareEventIds(`0-${value.slice(dash + 1)}`, `0-${MAX_PART}`) > 0
  ) {
    throw new LeanflowError(
      'INVALID_ARGUMENT',
      `${call} "${name}" ${JSON.stringify(value)} is not a stream id: each part must be at most ${MAX_PART} (the largest id is "${MAX_EVENT_ID}").`,
    )
  }
  return value
}

/**
 * `RUN_TOO_LONG` for an append the run has no room for: `held` events stored, `maxEventsPerRun`
 * the store's limit; `batch`, for `appendMany`, the number of appends in the refused batch.
 *
 * @example
 * ```ts
 * if (held >= maxEventsFor(event.kind, maxEventsPerRun)) throw runTooLong(runId, held, maxEventsPerRun)
 * ```
 */
export function runTooLong(runId: string, held: number, maxEventsPerRun: number, batch?: number): LeanflowError {
  const fix = 'finish the run and continue in a new one, or raise maxEventsPerRun. Nothing was written.'
  return new LeanflowError(
    'RUN_TOO_LONG',
    batch === undefined
      ? `Run "${runId}" already holds ${held} events, its limit (maxEventsPerRun ${maxEventsPerRun}): ${fix}`
      : `Run "${runId}" holds ${held} events and a batch of ${batch} appends does not fit behind them (maxEventsPerRun ${maxEventsPerRun}): append fewer at once, ${fix}`,
  )
}

/**
 * `HISTORY_GONE` for a `follow` from `after` that the run's history does not hold: `beyondLast`
 * when the run has events and `after` is past its last one (an id of another run, or of writes
 * the store lost); otherwise the run has no events (retention removed them, or it never existed).
 *
 * @example
 * ```ts
 * if (!stored) throw historyGone(runId, after)
 * if (compareEventIds(after, lastId) > 0) throw historyGone(runId, after, true)
 * ```
 */
export function historyGone(runId: string, after: string, beyondLast = false): LeanflowError {
  return new LeanflowError(
    'HISTORY_GONE',
    beyondLast
      ? `Run "${runId}" has no event "${after}" or later: that position is past its last event, so it is not from this run's history (an id of another run, or of writes the store lost). Reload the run from the start.`
      : `Run "${runId}" has no events left to follow after "${after}" (retention removed it, or it never existed): reload the run from the start.`,
  )
}
