import { type EventRecord, isTerminalKind, LeanflowError, type StreamStore } from '@leanflow/core'

/** The last event of run `runId`; `undefined` when the run does not exist (or has expired). */
export async function lastEvent(store: StreamStore, runId: string): Promise<EventRecord | undefined> {
  const [last] = await store.read(runId, { direction: 'backward', limit: 1 })
  return last
}

/**
 * How many of a run's last events the SSE route reads to find its terminal event: events may
 * follow the end (a step that completed after a cancel; the reducer lets them finish a step).
 */
export const TAIL = 8

/**
 * The last event of run `runId` and its terminal event when that is among its last {@link TAIL}
 * (usually the last event itself); `last` undefined when the run does not exist (or has expired).
 */
export async function runTail(store: StreamStore, runId: string): Promise<{ last?: EventRecord; end?: EventRecord }> {
  const tail = await store.read(runId, { direction: 'backward', limit: TAIL })
  // the run ended at its first terminal event (a later one changes nothing; the stream stops at the first)
  const end = tail.findLast((e) => isTerminalKind(e.kind))
  return { ...(tail[0] === undefined ? {} : { last: tail[0] }), ...(end === undefined ? {} : { end }) }
}

/** The error for a run the store does not have (404 RUN_NOT_FOUND). */
export function runNotFound(runId: string): LeanflowError {
  return new LeanflowError('RUN_NOT_FOUND', `Run "${runId}" does not exist (or has expired): check the run id.`)
}
