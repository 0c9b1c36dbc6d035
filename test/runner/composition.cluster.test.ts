import { createRedisStreamStore } from '@leanflow/redis'
import { compositionSuite } from '../fixtures/compositionSuite.js'
import { useRedisCluster } from '../helpers/redisCluster.js'

// composition on a 3-master Redis Cluster: a parent and its children in different slots
let n = 0
const cluster = useRedisCluster()

compositionSuite('Redis Cluster', async () => {
  const store = createRedisStreamStore({ redis: cluster.client, prefix: `ccmp${++n}` })
  return { store, cleanup: () => store.close() }
})
