import { createBullMQQueue } from '@leanflow/bullmq'
import { Cluster } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { describeJobQueueConformance } from '../conformance/jobQueueConformance.js'
import { type RedisCluster, startRedisCluster } from '../helpers/redisCluster.js'

let cluster: RedisCluster
let client: Cluster
let n = 0
beforeAll(async () => {
  cluster = await startRedisCluster(3)
  client = new Cluster(cluster.nodes)
})
afterAll(async () => {
  await client?.quit()
  await cluster?.stop()
})

describe('createBullMQQueue on a Cluster', () => {
  it('refuses a prefix without a hash tag and defaults to one', async () => {
    expect(() => createBullMQQueue({ connection: client, prefix: 'lfq' })).toThrow(/hash tag/)
    const q = createBullMQQueue({ connection: client, queueName: 'default-prefix' })
    try {
      await q.enqueue({ id: 'x', name: 'n', data: null, delayMs: 60_000 })
      const keys = await Promise.all(client.nodes('master').map((node) => node.keys('*default-prefix*')))
      expect(keys.flat().length).toBeGreaterThan(0)
      for (const k of keys.flat()) expect(k.startsWith('{lfq}:default-prefix:')).toBe(true)
    } finally {
      await q.close()
    }
  })
})

// A shared ioredis Cluster; the hash-tagged prefix keeps each queue in one slot.
describeJobQueueConformance('BullMQ on Redis Cluster', async () =>
  createBullMQQueue({ connection: client, prefix: '{lfq}', queueName: `cl${++n}`, backoff: { delayMs: 50, maxDelayMs: 200 } }),
)
