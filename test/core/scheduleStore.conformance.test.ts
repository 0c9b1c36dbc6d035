import { createMemoryStreamStore } from '@leanflow/core'
import { describeScheduleStoreConformance } from '../conformance/scheduleStoreConformance.js'

// The ScheduleStore contract on the memory store (core's memorySchedules.ts, the reference semantics).
describeScheduleStoreConformance('memory', {
  store: async () => createMemoryStreamStore(),
  // JSON.stringify's TypeError (a BigInt, a cycle) escapes as it is instead of INVALID_ARGUMENT
  knownGaps: ['a document that is not JSON is INVALID_ARGUMENT and writes nothing'],
})
