import { createMemoryStreamStore } from '@leanflow/core'
import { describeLimitStoreConformance } from '../conformance/limitStoreConformance.js'

// The LimitStore contract on the memory store (core's memoryLimits.ts).
describeLimitStoreConformance('memory', {
  store: async () => createMemoryStreamStore(),
})
