import { createRedisStreamStore, type RedisStreamStore } from '@leanflow/redis'
import { describeStreamStoreConformance, uniqueName } from '@leanflow/testing'
import { cutLive } from '../helpers/redisLiveFault.js'
import { useRedisServer } from '../helpers/redisServer.js'

const redis = useRedisServer()

describeStreamStoreConformance(
  'redis',
  async (opts) => {
    const prefix = uniqueName('c')
    return createRedisStreamStore({ url: redis.url, prefix, connectionName: prefix, ...opts })
  },
  {
    faults: {
      // kill the store's subscriber connection and keep it from reconnecting while the test appends
      cutLive: (store, runId) => {
        const s = store as RedisStreamStore
        return cutLive([{ host: '127.0.0.1', port: redis.port }], `${s.keys.prefix}:sub`, s.keys.live(runId))
      },
    },
  },
)
