import { createMemoryStreamStore } from '@leanflow/core'
import { describeStreamStoreConformance } from './conformance/streamStoreConformance.js'

describeStreamStoreConformance('memory', async (opts) => createMemoryStreamStore(opts))
