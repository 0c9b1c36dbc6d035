import { createRedisStreamStore } from '@leanflow/redis'
import { scheduleSuite } from '../fixtures/scheduleSuite.js'
import { useRedisCluster } from '../helpers/redisCluster.js'

// runner.schedules on a 3-master Redis Cluster: schedules in their slot, runs in theirs
let n = 0
const cluster = useRedisCluster()

scheduleSuite('Redis Cluster', async () => {
  const prefix = `csch${++n}`
  const store = createRedisStreamStore({ redis: cluster.client, prefix })
  // every schedule key of a prefix is in one slot (the {schedules} tag): the test's schedules go with it
  const cleanup = async () => {
    for (const s of await store.listSchedules()) await store.casSchedule(s.id, s.version, null, null)
    await store.close()
  }
  return { store, cleanup }
})
