import { createMemoryQueue } from '@leanflow/runner'
import { describeJobQueueConformance } from '../conformance/jobQueueConformance.js'

describeJobQueueConformance('memory', async () => createMemoryQueue({ redeliverDelayMs: 20, maxRedeliverDelayMs: 100 }))
