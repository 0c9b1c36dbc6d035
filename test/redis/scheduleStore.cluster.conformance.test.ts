import { createRedisStreamStore } from '@leanflow/redis'
import { describeScheduleStoreConformance, uniqueName } from '@leanflow/testing'
import { useRedisCluster } from '../helpers/redisCluster.js'

// The ScheduleStore contract on a 3-master Redis Cluster: every schedule key in one slot, so
// each write is one script there (a CROSSSLOT error would fail every case).
const cluster = useRedisCluster()

describeScheduleStoreConformance('redis cluster', {
  store: async () => {
    const prefix = uniqueName('s')
    return createRedisStreamStore({ redis: cluster.client, prefix, connectionName: prefix })
  },
  maxDocBytes: 64 * 1024,
})
