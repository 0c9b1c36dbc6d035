// @leanflow/testing: the conformance suites of leanflow's ports, the very code the project's own
// stores and queues run (memory, Redis, Redis Cluster, BullMQ), for a store written elsewhere.

export type { CrashableWorker, JobQueueConformanceOptions, JobQueueFactory, JobQueueFaults } from './jobQueueConformance.js'
export { describeJobQueueConformance } from './jobQueueConformance.js'
export type { LimitStoreFactory, LimitTestStore } from './limitStoreConformance.js'
export { describeLimitStoreConformance } from './limitStoreConformance.js'
export type { FullStore, RunStateStoreFactory } from './runStateConformance.js'
export { describeRunStateConformance } from './runStateConformance.js'
export type { ScheduleStoreFactory, ScheduleTestStore } from './scheduleStoreConformance.js'
export { describeScheduleStoreConformance } from './scheduleStoreConformance.js'
export { describeStreamStoreConformance } from './streamStoreConformance.js'
export type {
  ConformanceFaults,
  ConformanceStoreFactory,
  ConformanceStoreOptions,
  StreamStoreConformanceOptions,
} from './streamStoreConformanceKit.js'
export { eventually, sleep, uniqueName, within } from './streamStoreConformanceKit.js'
