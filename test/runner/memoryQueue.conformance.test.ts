import { createMemoryQueue } from '@leanflow/runner'
import { describeJobQueueConformance } from '@leanflow/testing'

describeJobQueueConformance('memory', async () => createMemoryQueue({ redeliverDelayMs: 20, maxRedeliverDelayMs: 100 }))
