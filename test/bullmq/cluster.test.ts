import { createBullMQQueue } from '@leanflow/bullmq'
import { describeJobQueueConformance } from '@leanflow/testing'
import { describe, expect, it } from 'vitest'
import { useRedisCluster } from '../helpers/redisCluster.js'

let n = 0
const cluster = useRedisCluster()

describe('createBullMQQueue on a Cluster', () => {
  it('refuses a prefix without a hash tag and defaults to one', async () => {
    expect(() => createBullMQQueue({ connection: cluster.client, prefix: 'lfq' })).toThrow(/hash tag/)
    const q = createBullMQQueue({ connection: cluster.client, queueName: 'default-prefix' })
    try {
      await q.enqueue({ id: 'x', name: 'n', data: null, delayMs: 60_000 })
      const keys = await Promise.all(cluster.client.nodes('master').map((node) => node.keys('*default-prefix*')))
      expect(keys.flat().length).toBeGreaterThan(0)
      for (const k of keys.flat()) expect(k.startsWith('{lfq}:default-prefix:')).toBe(true)
    } finally {
      await q.close()
    }
  })
})

// A shared ioredis Cluster; the hash-tagged prefix keeps each queue in one slot.
describeJobQueueConformance('BullMQ on Redis Cluster', async () =>
  createBullMQQueue({ connection: cluster.client, prefix: '{lfq}', queueName: `cl${++n}`, backoff: { delayMs: 50, maxDelayMs: 200 } }),
)
