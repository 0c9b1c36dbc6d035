import { createRedisStreamStore, type RedisStreamStore } from '@leanflow/redis'
import { describeStreamStoreConformance, uniqueName } from '@leanflow/testing'
import { useRedisCluster } from '../helpers/redisCluster.js'
import { cutLive } from '../helpers/redisLiveFault.js'

// The whole StreamStore contract on a 3-master Redis Cluster (runs land on every master).
const cluster = useRedisCluster()

describeStreamStoreConformance(
  'redis cluster',
  async (opts) => {
    const prefix = uniqueName('c')
    return createRedisStreamStore({ redis: cluster.client, prefix, connectionName: prefix, ...opts })
  },
  {
    unsupported: {
      // documented (docs/redis.md, Connections): close() leaves a connection of the caller's open
      'refuses appends, reads and listings after close with STORE_UNAVAILABLE':
        "a store on a connection of the caller's (redis: cluster.client) keeps working on it after close(), as docs/redis.md says",
    },
    faults: {
      // kill the store's subscriber connections on every master and keep them from reconnecting
      cutLive: (store, runId) => {
        const s = store as RedisStreamStore
        return cutLive(cluster.nodes, `${s.keys.prefix}:sub`, s.keys.live(runId))
      },
    },
  },
)
