import { type EventRecord, isTerminalKind, type StreamStore } from '@leanflow/core'

/** A run's terminal event: its id and kind. */
export type RunEnd = NonNullable<Awaited<ReturnType<NonNullable<StreamStore['runEnd']>>>>

/**
 * Where run `runId` ended (its first terminal event), or undefined while it runs: the store's
 * `runEnd` (events may follow the end, such as a step that completed after a cancel), else, on a
 * store without it, its last event when that is terminal. `last`: the run's last event, when the
 * caller has read it already.
 *
 * @example
 * ```ts
 * const end = await runEndOf(store, runId)
 * if (end) console.log(`ended: ${end.kind} at ${end.id}`)
 * ```
 */
export async function runEndOf(store: StreamStore, runId: string, last?: EventRecord): Promise<RunEnd | undefined> {
  if (store.runEnd !== undefined) return store.runEnd(runId)
  const e = last ?? (await store.read(runId, { direction: 'backward', limit: 1 }))[0]
  return e && isTerminalKind(e.kind) ? { id: e.id, kind: e.kind as RunEnd['kind'] } : undefined
}
