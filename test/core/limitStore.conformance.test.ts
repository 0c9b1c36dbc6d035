import { createMemoryStreamStore } from '@leanflow/core'
import { describeLimitStoreConformance } from '@leanflow/testing'

// The LimitStore contract on the memory store (core's memoryLimits.ts).
describeLimitStoreConformance('memory', {
  store: async () => createMemoryStreamStore(),
})
