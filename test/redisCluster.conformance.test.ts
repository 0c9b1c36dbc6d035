import { createRedisStreamStore } from '@leanflow/redis'
import { Cluster } from 'ioredis'
import { afterAll, beforeAll } from 'vitest'
import { describeStreamStoreConformance, uniqueName } from './conformance/streamStoreConformance.js'
import { type RedisCluster, startRedisCluster } from './helpers/redisCluster.js'

// The whole StreamStore contract on a 3-master Redis Cluster (runs land on every master).
let cluster: RedisCluster
let client: Cluster
beforeAll(async () => {
  cluster = await startRedisCluster(3)
  client = new Cluster(cluster.nodes)
})
afterAll(async () => {
  client.disconnect()
  await cluster.stop()
})

describeStreamStoreConformance('redis cluster', async (opts) => createRedisStreamStore({ redis: client, prefix: uniqueName('c'), ...opts }))
