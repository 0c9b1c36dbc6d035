import { createRedisStreamStore } from '@leanflow/redis'
import { flowControlSuite } from '../fixtures/flowControlSuite.js'
import { useRedisCluster } from '../helpers/redisCluster.js'

// flow control on a 3-master Redis Cluster: each scope's limits in the slot of its {lim:<scope>} tag, runs in theirs
let n = 0
const cluster = useRedisCluster()

flowControlSuite('Redis Cluster', async () => {
  const store = createRedisStreamStore({ redis: cluster.client, prefix: `cfc${++n}` })
  return { store, cleanup: () => store.close() }
})
