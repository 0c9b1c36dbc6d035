import { createRedisStreamStore } from '@leanflow/redis'
import { describeScheduleStoreConformance, uniqueName } from '@leanflow/testing'
import { useRedisServer } from '../helpers/redisServer.js'

const redis = useRedisServer()

// The ScheduleStore contract on a standalone Redis, each test under its own key prefix.
describeScheduleStoreConformance('redis', {
  store: async () => {
    const prefix = uniqueName('s')
    return createRedisStreamStore({ url: redis.url, prefix, connectionName: prefix })
  },
  maxDocBytes: 64 * 1024,
})
