import { createBullMQQueue } from '@leanflow/bullmq'
import type { JobQueue } from '@leanflow/core'
import { createRedisStreamStore } from '@leanflow/redis'
import { flowControlSuite } from '../fixtures/flowControlSuite.js'
import { useRedisServer } from '../helpers/redisServer.js'

// flow control with BullMQ as the job queue: every runner of a test its own queue client on one shared queue
const redis = useRedisServer({ args: ['--hz', '100'] })
let n = 0

flowControlSuite('Redis + BullMQ', async () => {
  const id = `bfc${++n}`
  const store = createRedisStreamStore({ url: redis.url, prefix: id })
  const queues: JobQueue[] = []
  const queue = () => {
    const q = createBullMQQueue({ url: redis.url, queueName: id, backoff: { delayMs: 20, maxDelayMs: 200 } })
    queues.push(q)
    return q
  }
  const cleanup = async () => {
    for (const q of queues) await q.close()
    await store.close()
  }
  return { store, queue, cleanup }
})
