import { createBullMQQueue } from '@leanflow/bullmq'
import type { JobQueue } from '@leanflow/core'
import { describeJobQueueConformance } from '@leanflow/testing'
import { afterAll } from 'vitest'
import { useRedisServer } from '../helpers/redisServer.js'
import { type ForkedWorker, forkWorker } from '../workers/forkWorker.js'

const redis = useRedisServer()
let n = 0
const names = new WeakMap<JobQueue, string>()
const children: ForkedWorker[] = []
afterAll(() => {
  for (const c of children) c.kill('SIGKILL')
})
// short locks: a crashed worker's job is stalled, and re-delivered, within about a second
const LOCK_MS = 1000

describeJobQueueConformance(
  'BullMQ',
  async () => {
    const queueName = `conf${++n}`
    const q = createBullMQQueue({
      url: redis.url,
      queueName,
      backoff: { delayMs: 50, maxDelayMs: 200 },
      lockDuration: LOCK_MS,
      stalledInterval: 500,
    })
    names.set(q, queueName)
    return q
  },
  {
    faults: {
      // a worker in a child process (test/workers/queueWorker.ts), SIGKILLed
      async crashableWorker(q) {
        const w = forkWorker('queueWorker.ts', {
          REDIS_URL: redis.url,
          QUEUE_NAME: names.get(q) ?? '',
          LOCK_MS: String(LOCK_MS),
          STALLED_MS: '500',
        })
        children.push(w)
        await w.waitFor((m) => m.type === 'ready', 'the worker ready')
        return {
          active: (id) => w.waitFor((m) => m.type === 'active' && m.id === id, `job ${id} active`).then(() => undefined),
          async crash() {
            w.kill('SIGKILL')
            await w.exited
          },
        }
      },
    },
  },
)
