import type { StreamStore } from '@leanflow/core'
import { afterAll, describe } from 'vitest'
import { describeAppendConformance } from './streamStoreConformanceAppend.js'
import { describeFollowFaultConformance } from './streamStoreConformanceFollow.js'
import type {
  ConformanceContext,
  ConformanceFaults,
  ConformanceStoreFactory,
  ConformanceStoreOptions,
} from './streamStoreConformanceKit.js'
import { describeReadFollowConformance } from './streamStoreConformanceRead.js'
import { describeRunsConformance } from './streamStoreConformanceRuns.js'

export type { ConformanceFaults, ConformanceStoreFactory, ConformanceStoreOptions } from './streamStoreConformanceKit.js'
export { uniqueName } from './streamStoreConformanceKit.js'

/**
 * The `StreamStore` contract as tests, run against every implementation
 * (`createMemoryStreamStore`, `createRedisStreamStore`). Tests create their
 * own stores with `makeStore`, use unique run ids and flow names (so one
 * server can serve all tests) and close every store they made. `faults`, when
 * given, lets the suite inject the faults only a real server has (a cut live
 * channel); without it those tests are skipped.
 *
 * @example
 * ```ts
 * describeStreamStoreConformance('memory', async (opts) => createMemoryStreamStore(opts))
 * ```
 */
export function describeStreamStoreConformance(label: string, makeStore: ConformanceStoreFactory, faults?: ConformanceFaults): void {
  describe(`StreamStore conformance: ${label}`, () => {
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
    })

    describeAppendConformance(t)
    describeReadFollowConformance(t)
    describeFollowFaultConformance(t)
    describeRunsConformance(t)
  })
}
