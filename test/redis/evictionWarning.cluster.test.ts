// The eviction warning on a Redis Cluster asks every master, not one node at random: a Cluster
// where one master of three evicts keys is warned about at each start. On a real cluster.
import { createRedisStreamStore } from '@leanflow/redis'
import { Cluster, Redis } from 'ioredis'
import { expect, it } from 'vitest'
import { useRedisCluster } from '../helpers/redisCluster.js'
import { waitFor } from '../helpers/waitFor.js'

const cluster = useRedisCluster(3)

it('one evicting master of three is found, every time', async () => {
  const [first] = await cluster.cluster.masters()
  const admin = new Redis(first as number)
  await admin.config('SET', 'maxmemory-policy', 'allkeys-lru')
  admin.disconnect()
  for (let i = 0; i < 4; i++) {
    const warnings: string[] = []
    const client = new Cluster(cluster.nodes)
    const store = createRedisStreamStore({ redis: client, prefix: `ev${i}`, onWarning: (m) => warnings.push(m) })
    try {
      await store.append(`r${i}`, { kind: 'log', flow: `r${i}`, data: {} })
      await waitFor(() => warnings.length > 0, 'the warning')
      expect(warnings[0]).toContain('"allkeys-lru"')
    } finally {
      await store.close()
      client.disconnect()
    }
  }
}, 60_000)
