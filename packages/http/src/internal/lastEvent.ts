import { type EventRecord, isTerminalKind, LeanflowError, type StreamStore } from '@leanflow/core'

/** The last event of run `runId`; `undefined` when the run does not exist (or has expired). */
export async function lastEvent(store: StreamStore, runId: string): Promise<EventRecord | undefined> {
  const [last] = await store.read(runId, { direction: 'backward', limit: 1 })
  return last
}

/**
 * How many of a run's last events the SSE route reads to find its terminal event on a store
 * without `runEnd` (events may follow the end: a step that completed after a cancel; the
 * reducer lets them finish a step).
 */
export const TAIL = 8

/** A run's terminal event, as `StreamStore.runEnd` gives it. */
export type RunEndRef = { id: string; kind: string }

/**
 * The last event of run `runId` (`undefined` when the run does not exist or has expired) and,
 * with `position` (a reconnect), where the run ended: its terminal event, whatever the number
 * of events after it, from `store.runEnd` (the run's summary, not its log). A store without
 * `runEnd` is asked for the run's last {@link TAIL} events instead (its end found among them).
 */
export async function runTail(
  store: StreamStore,
  runId: string,
  position: string | undefined,
): Promise<{ last?: EventRecord; end?: RunEndRef }> {
  let last: EventRecord | undefined
  let end: RunEndRef | undefined
  if (position === undefined) {
    last = await lastEvent(store, runId) // from the start: the stream itself stops at the end
  } else if (store.runEnd !== undefined) {
    ;[last, end] = await Promise.all([lastEvent(store, runId), store.runEnd(runId)])
  } else {
    const tail = await store.read(runId, { direction: 'backward', limit: TAIL })
    last = tail[0]
    // the run ended at its first terminal event (a later one changes nothing; the stream stops at the first)
    end = tail.findLast((e) => isTerminalKind(e.kind))
  }
  return { ...(last === undefined ? {} : { last }), ...(end === undefined ? {} : { end }) }
}

/** The error for a run the store does not have (404 RUN_NOT_FOUND). */
export function runNotFound(runId: string): LeanflowError {
  return new LeanflowError('RUN_NOT_FOUND', `Run "${runId}" does not exist (or has expired): check the run id.`)
}
