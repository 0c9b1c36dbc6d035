import type { EventRecord } from './events.js'
import { STORE_DEFAULTS, type StreamStore } from './streamStore.js'

/**
 * Every event of run `runId`, in order, read page by page (`store.read` returns at most `limit`
 * events, 1,000 by default: folding one page of a longer run gives a state cut short, still
 * `running`). `[]` for an unknown or expired run. Fold it with `reduceFlow` for the run's state.
 *
 * @example
 * ```ts
 * import { readLog, reduceFlow } from '@leanflow/core'
 *
 * const state = reduceFlow(await readLog(store, runId))
 * console.log(state.status) // 'completed', however many events the run wrote
 * ```
 */
export async function readLog(store: Pick<StreamStore, 'read'>, runId: string): Promise<EventRecord[]> {
  const page = STORE_DEFAULTS.readLimit
  const all: EventRecord[] = []
  for (;;) {
    const got = await store.read(runId, { after: all.at(-1)?.id, limit: page })
    all.push(...got)
    if (got.length < page) return all
  }
}
