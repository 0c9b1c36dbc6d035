import { createRedisStreamStore, type RedisStreamStore } from '@leanflow/redis'
import { afterAll, beforeAll } from 'vitest'
import { describeStreamStoreConformance, uniqueName } from '../conformance/streamStoreConformance.js'
import { cutLive } from '../helpers/redisLiveFault.js'
import { type RedisServer, startRedis } from '../helpers/redisServer.js'

let server: RedisServer
beforeAll(async () => {
  server = await startRedis()
})
afterAll(() => server.stop())

describeStreamStoreConformance(
  'redis',
  async (opts) => {
    const prefix = uniqueName('c')
    return createRedisStreamStore({ url: server.url, prefix, connectionName: prefix, ...opts })
  },
  {
    // kill the store's subscriber connection and keep it from reconnecting while the test appends
    cutLive: (store, runId) => {
      const s = store as RedisStreamStore
      return cutLive([{ host: '127.0.0.1', port: server.port }], `${s.keys.prefix}:sub`, s.keys.live(runId))
    },
  },
)
