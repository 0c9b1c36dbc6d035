import { createMemoryStreamStore } from '@leanflow/core'
import { describeScheduleStoreConformance } from '@leanflow/testing'

// The ScheduleStore contract on the memory store (core's memorySchedules.ts, the reference semantics).
describeScheduleStoreConformance('memory', {
  store: async () => createMemoryStreamStore(),
  maxDocBytes: 64 * 1024,
})
