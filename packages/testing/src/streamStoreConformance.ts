import type { StreamStore } from '@leanflow/core'
import { afterAll, describe } from 'vitest'
import { unmatched, withUnsupported } from './internal/kitTest.js'
import { describeAppendConformance } from './streamStoreConformanceAppend.js'
import { describeAppendManyConformance } from './streamStoreConformanceAppendMany.js'
import { describeFollowFaultConformance } from './streamStoreConformanceFollow.js'
import type {
  ConformanceContext,
  ConformanceStoreFactory,
  ConformanceStoreOptions,
  StreamStoreConformanceOptions,
} from './streamStoreConformanceKit.js'
import { describeReadFollowConformance } from './streamStoreConformanceRead.js'
import { describeRestartConformance } from './streamStoreConformanceRestart.js'
import { describeRunsConformance } from './streamStoreConformanceRuns.js'

export type {
  ConformanceFaults,
  ConformanceStoreFactory,
  ConformanceStoreOptions,
  StreamStoreConformanceOptions,
} from './streamStoreConformanceKit.js'
export { uniqueName } from './streamStoreConformanceKit.js'

/** The group of the live-channel fault case, skipped without `faults.cutLive`. */
const LOST_LIVE = 'follow through a lost live channel'

/**
 * The `StreamStore` contract as tests, the same ones the project's stores run (memory, Redis,
 * Redis Cluster): append (ids, every JSON value, 1 MB, limits), idempotency, refusals of bad
 * input, names and payload safety, appendMany (order, idempotency, checks before any write), read (paging, exclusive bounds, ids at the edges), follow
 * (existing then live, gap-free, abort, break, two followers, any interleaving, HISTORY_GONE),
 * follow through a lost live channel, listRuns and listFlows (summary, status, children),
 * retention, the bus, close.
 *
 * `makeStore(opts)` makes a store with those options (`retention` in ms, `maxEventBytes`,
 * `maxEventsPerRun`, `bus`); one backend may serve every store of the suite (the suite uses
 * unique run ids and flow names) and closes each store it made.
 *
 * A guarantee the suite cannot check is never passed silently: without `faults.cutLive` the
 * lost-live-channel case, and every group or case named in `unsupported`, is registered as
 * skipped with the reason in its title, and the suite's title says how many were; without
 * `faults.restart` (a store held in memory has no backend to restart) the restart case is not
 * registered and the suite's title says it was not checked.
 *
 * @example
 * ```ts
 * import { createMemoryStreamStore } from '@leanflow/core'
 * import { describeStreamStoreConformance } from '@leanflow/testing'
 *
 * describeStreamStoreConformance('memory', async (opts) => createMemoryStreamStore(opts))
 * ```
 */
export function describeStreamStoreConformance(
  label: string,
  makeStore: ConformanceStoreFactory,
  options: StreamStoreConformanceOptions = {},
): void {
  const faults = options.faults
  const unsupported: Record<string, string> = { ...options.unsupported }
  if (!faults?.cutLive) unsupported[LOST_LIVE] ??= "no faults.cutLive hook was given (pass one that cuts the store's live channel)"
  const skipped = Object.keys(unsupported)
  // a store held in memory has no backend to restart: that case is not registered, the title says so
  const notes = faults?.restart ? [] : ['no faults.restart hook: durability across a backend restart not checked']
  if (skipped.length > 0) notes.unshift(`${skipped.length} groups or cases not checked here, each skipped with its reason`)
  const title = notes.length === 0 ? `StreamStore conformance: ${label}` : `StreamStore conformance: ${label} (${notes.join('; ')})`
  describe(title, () => {
    const made: StreamStore[] = []
    let shared: StreamStore | undefined
    const t: ConformanceContext = {
      async open(opts: ConformanceStoreOptions = {}) {
        const s = await makeStore(opts)
        made.push(s)
        return s
      },
      async store() {
        shared ??= await t.open()
        return shared
      },
      forget(s) {
        const i = made.indexOf(s)
        if (i >= 0) made.splice(i, 1)
      },
      faults,
    }

    afterAll(async () => {
      await Promise.all(made.map((s) => s.close()))
      const typos = unmatched(unsupported)
      if (typos.length > 0) {
        throw new Error(
          `describeStreamStoreConformance("${label}"): unsupported names no group or case of the suite: ${typos.map((t) => JSON.stringify(t)).join(', ')}. Copy the titles from the run's output.`,
        )
      }
    })

    withUnsupported(unsupported, () => {
      describeAppendConformance(t)
      describeAppendManyConformance(t)
      describeReadFollowConformance(t)
      describeFollowFaultConformance(t)
      describeRestartConformance(t)
      describeRunsConformance(t)
    })
  })
}
