import { createBullMQQueue } from '@leanflow/bullmq'
import { afterAll, beforeAll } from 'vitest'
import { describeJobQueueConformance } from './conformance/jobQueueConformance.js'
import { type RedisServer, startRedis } from './helpers/redisServer.js'

let redis: RedisServer
let n = 0
beforeAll(async () => {
  redis = await startRedis()
})
afterAll(async () => {
  await redis?.stop()
})

describeJobQueueConformance('BullMQ', async () =>
  createBullMQQueue({ url: redis.url, queueName: `conf${++n}`, backoff: { delayMs: 50, maxDelayMs: 200 } }),
)
