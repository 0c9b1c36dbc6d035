import { createRedisStreamStore, type RedisStreamStore } from '@leanflow/redis'
import { describeStreamStoreConformance, uniqueName } from '@leanflow/testing'
import { Redis } from 'ioredis'
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
      // the data written to disk (SAVE: the server runs without AOF here), then SIGKILL and a start
      // on the same port and dir, which loads it: every store's connections drop and must come back
      restart: async () => {
        const admin = new Redis(redis.url)
        try {
          await admin.save()
        } finally {
          admin.disconnect()
        }
        await redis.kill()
        await redis.restart()
      },
      // kill the store's subscriber connection and keep it from reconnecting while the test appends
      cutLive: (store, runId) => {
        const s = store as RedisStreamStore
        return cutLive([{ host: '127.0.0.1', port: redis.port }], `${s.keys.prefix}:sub`, s.keys.live(runId))
      },
    },
  },
)
