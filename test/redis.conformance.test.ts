import { createRedisStreamStore } from '@leanflow/redis'
import { afterAll, beforeAll } from 'vitest'
import { describeStreamStoreConformance, uniqueName } from './conformance/streamStoreConformance.js'
import { type RedisServer, startRedis } from './helpers/redisServer.js'

let server: RedisServer
beforeAll(async () => {
  server = await startRedis()
})
afterAll(() => server.stop())

describeStreamStoreConformance('redis', async (opts) => createRedisStreamStore({ url: server.url, prefix: uniqueName('c'), ...opts }))
