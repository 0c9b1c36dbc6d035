import { createRedisStreamStore } from '@leanflow/redis'
import { Cluster } from 'ioredis'
import { afterAll, beforeAll } from 'vitest'
import { scheduleSuite } from '../fixtures/scheduleSuite.js'
import { type RedisCluster, startRedisCluster } from '../helpers/redisCluster.js'

// runner.schedules on a 3-master Redis Cluster: schedules in their slot, runs in theirs
let cluster: RedisCluster
let client: Cluster
let n = 0
beforeAll(async () => {
  cluster = await startRedisCluster(3)
  client = new Cluster(cluster.nodes)
})
afterAll(async () => {
  client.disconnect()
  await cluster.stop()
})

scheduleSuite('Redis Cluster', async () => {
  const prefix = `csch${++n}`
  const store = createRedisStreamStore({ redis: client, prefix })
  // every schedule key of a prefix is in one slot (the {schedules} tag): the test's schedules go with it
  const cleanup = async () => {
    for (const s of await store.listSchedules()) await store.casSchedule(s.id, s.version, null, null)
    await store.close()
  }
  return { store, cleanup }
})
