import { type EventRecord, LeanflowError, type StreamStore } from '@leanflow/core'

/** The last event of run `runId`; `undefined` when the run does not exist (or has expired). */
export async function lastEvent(store: StreamStore, runId: string): Promise<EventRecord | undefined> {
  const [last] = await store.read(runId, { direction: 'backward', limit: 1 })
  return last
}

/** The error for a run the store does not have (404 RUN_NOT_FOUND). */
export function runNotFound(runId: string): LeanflowError {
  return new LeanflowError('RUN_NOT_FOUND', `Run "${runId}" does not exist (or has expired): check the run id.`)
}
