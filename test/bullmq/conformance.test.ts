import { createBullMQQueue } from '@leanflow/bullmq'
import { describeJobQueueConformance } from '@leanflow/testing'
import { useRedisServer } from '../helpers/redisServer.js'

const redis = useRedisServer()
let n = 0

describeJobQueueConformance('BullMQ', async () =>
  createBullMQQueue({ url: redis.url, queueName: `conf${++n}`, backoff: { delayMs: 50, maxDelayMs: 200 } }),
)
