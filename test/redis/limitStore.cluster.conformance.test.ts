import { createRedisStreamStore } from '@leanflow/redis'
import { describeLimitStoreConformance, uniqueName } from '@leanflow/testing'
import { useRedisCluster } from '../helpers/redisCluster.js'

// The LimitStore contract on a 3-master Redis Cluster: every key of a scope in its `{lim:<scope>}`
// slot, so each call is one script there (a CROSSSLOT or cross-slot script error would fail every case).
const cluster = useRedisCluster()

describeLimitStoreConformance('redis cluster', {
  store: async () => {
    const prefix = uniqueName('l')
    return createRedisStreamStore({ redis: cluster.client, prefix, connectionName: prefix })
  },
})
