import { createRedisStreamStore } from '@leanflow/redis'
import { afterAll, beforeAll } from 'vitest'
import { awaitSuite } from './fixtures/runnerAwaitSuite.js'
import { runnerSuite } from './fixtures/runnerSuite.js'
import { type RedisServer, startRedis } from './helpers/redisServer.js'

let server: RedisServer
let n = 0
beforeAll(async () => {
  server = await startRedis()
})
afterAll(async () => {
  await server?.stop()
})

// a fresh key prefix per test on one real redis-server
const factory = async () => {
  const store = createRedisStreamStore({ url: server.url, prefix: `rt${++n}` })
  return { store, cleanup: () => store.close() }
}

runnerSuite('the Redis store', factory)
awaitSuite('the Redis store', factory)
