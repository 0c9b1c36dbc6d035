import { createRedisStreamStore } from '@leanflow/redis'
import { Cluster } from 'ioredis'
import { afterAll, beforeAll } from 'vitest'
import { describeScheduleStoreConformance } from '../conformance/scheduleStoreConformance.js'
import { uniqueName } from '../conformance/streamStoreConformance.js'
import { type RedisCluster, startRedisCluster } from '../helpers/redisCluster.js'

// The ScheduleStore contract on a 3-master Redis Cluster: every schedule key in one slot, so
// each write is one script there (a CROSSSLOT error would fail every case).
let cluster: RedisCluster
let client: Cluster
beforeAll(async () => {
  cluster = await startRedisCluster(3)
  client = new Cluster(cluster.nodes)
}, 60_000)
afterAll(async () => {
  client?.disconnect()
  await cluster?.stop()
})

describeScheduleStoreConformance('redis cluster', {
  store: async () => {
    const prefix = uniqueName('s')
    return createRedisStreamStore({ redis: client, prefix, connectionName: prefix })
  },
  maxDocBytes: 64 * 1024,
})
