// The example implements the two ports every runner needs (StreamStore, RunStateStore). Flow
// control (concurrency, rate limits, debounce) and stored schedules are two more ports, LimitStore
// and ScheduleStore; this borrows them from a memory store, which holds for ONE process only.
// A deployment with several workers implements them on the database too (the kit has their suites:
// describeLimitStoreConformance, describeScheduleStoreConformance).
import { createMemoryStreamStore, type LimitStore, type ScheduleStore } from '@leanflow/core'
import type { PostgresStreamStore } from './postgresStreamStore.js'

/**
 * `store` plus the memory store's `LimitStore` and `ScheduleStore` methods (one process only).
 *
 * @example
 * ```ts
 * const runner = createRunner({ store: withMemoryFlowControl(await createPostgresStreamStore({ connectionString })), flows })
 * ```
 */
export function withMemoryFlowControl(store: PostgresStreamStore): PostgresStreamStore & LimitStore & ScheduleStore {
  const memory = createMemoryStreamStore()
  const limits: LimitStore = {
    acquireLimit: memory.acquireLimit,
    releaseLimit: memory.releaseLimit,
    renewLimit: memory.renewLimit,
    limitHolders: memory.limitHolders,
    limitUsage: memory.limitUsage,
    debounce: memory.debounce,
    settleDebounce: memory.settleDebounce,
  }
  const schedules: ScheduleStore = {
    getSchedule: memory.getSchedule,
    casSchedule: memory.casSchedule,
    listSchedules: memory.listSchedules,
    dueSchedules: memory.dueSchedules,
  }
  return {
    ...store,
    ...limits,
    ...schedules,
    async close() {
      await memory.close()
      await store.close()
    },
  }
}
