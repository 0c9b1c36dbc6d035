import { createBullMQQueue } from '@leanflow/bullmq'
import { describeJobQueueConformance } from '@leanflow/testing'
import { describe, expect, it } from 'vitest'
import { useRedisCluster } from '../helpers/redisCluster.js'

let n = 0
const cluster = useRedisCluster()

describe('createBullMQQueue on a Cluster', () => {
  it('refuses a prefix without a hash tag and defaults to one', async () => {
    expect(() => createBullMQQueue({ connection: cluster.client, prefix: 'lfq' })).toThrow(/hash tag/)
    // Redis hashes what lies between the first "{" and the next "}", when not empty: these have no tag
    for (const prefix of ['{}{lfq}', 'a{}{lfq}', '{lfq', 'lfq}{']) {
      expect(() => createBullMQQueue({ connection: cluster.client, prefix }), prefix).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/has no hash tag.*first "\{"/) }),
      )
    }
    for (const prefix of ['{lfq}', 'app{lfq}', '{lfq}}', '{{lfq}']) {
      const q = createBullMQQueue({ connection: cluster.client, prefix, queueName: `tagged${++n}` })
      try {
        await q.enqueue({ id: 'x', name: 'n', data: null, delayMs: 60_000 })
      } finally {
        await q.close()
      }
    }
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

describe('createBullMQQueue given one node of a Cluster (a url, a plain client)', () => {
  it("process() refuses, naming the fix; enqueue's error names it too; nothing is left running", async () => {
    const node = cluster.nodes[0] as { host: string; port: number }
    const errors: unknown[] = []
    const q = createBullMQQueue({ url: `redis://${node.host}:${node.port}`, queueName: `plain${++n}`, onError: (e) => errors.push(e) })
    try {
      await expect(q.process(async () => {})).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
        message: expect.stringMatching(/node of a Redis Cluster, reached by a plain connection.*connection: new Cluster\(/),
      })
      await expect(q.enqueue({ id: 'x', name: 'n', data: null })).rejects.toMatchObject({
        code: 'INTERNAL',
        message: expect.stringMatching(/Redis Cluster node.*(MOVED|CROSSSLOT).*connection: new Cluster\(/),
      })
      // the refused worker is closed: no fetch loop goes on erroring
      const seen = errors.length
      await new Promise((r) => setTimeout(r, 500))
      expect(errors.length - seen).toBe(0)
    } finally {
      await q.close()
    }
  })
})

// A shared ioredis Cluster; the hash-tagged prefix keeps each queue in one slot.
describeJobQueueConformance('BullMQ on Redis Cluster', async () =>
  createBullMQQueue({ connection: cluster.client, prefix: '{lfq}', queueName: `cl${++n}`, backoff: { delayMs: 50, maxDelayMs: 200 } }),
)
