import { createBullMQQueue } from '@leanflow/bullmq'
import type { JobQueue } from '@leanflow/core'
import { createRedisStreamStore } from '@leanflow/redis'
import { compositionSuite } from '../fixtures/compositionSuite.js'
import { useRedisServer } from '../helpers/redisServer.js'

// composition with BullMQ as the job queue: every runner of a test its own queue client on one shared queue
const redis = useRedisServer({ args: ['--hz', '100'] })
let n = 0

compositionSuite('Redis + BullMQ', async () => {
  const id = `bcmp${++n}`
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
