import { createMemoryStreamStore } from '@leanflow/core'
import { createRedisStreamStore } from '@leanflow/redis'
import { afterAll, beforeAll } from 'vitest'
import { faultSuite } from '../fixtures/runnerFaultSuite.js'
import { logOrderSuite } from '../fixtures/runnerLogOrderSuite.js'
import { type RedisServer, startRedis } from '../helpers/redisServer.js'

let server: RedisServer
let n = 0
beforeAll(async () => {
  server = await startRedis()
})
afterAll(async () => {
  await server?.stop()
})

const redisFactory = async () => {
  const store = createRedisStreamStore({ url: server.url, prefix: `rf${++n}` })
  return { store, cleanup: () => store.close() }
}
const memoryFactory = async () => {
  const store = createMemoryStreamStore()
  return { store, cleanup: () => store.close() }
}

faultSuite('the Redis store', redisFactory)
logOrderSuite('the Redis store', redisFactory)
logOrderSuite('the memory store', memoryFactory)

faultSuite('the memory store', memoryFactory, async (skewMs) => {
  let offset = skewMs
  const store = createMemoryStreamStore({ now: () => Date.now() + offset })
  return { store, cleanup: () => store.close(), advance: (ms: number) => void (offset += ms) }
})
