import { createMemoryStreamStore } from '@leanflow/core'
import { createRedisStreamStore } from '@leanflow/redis'
import { afterAll, beforeAll } from 'vitest'
import { faultSuite } from '../fixtures/runnerFaultSuite.js'
import { type RedisServer, startRedis } from '../helpers/redisServer.js'

let server: RedisServer
let n = 0
beforeAll(async () => {
  server = await startRedis()
})
afterAll(async () => {
  await server?.stop()
})

faultSuite('the Redis store', async () => {
  const store = createRedisStreamStore({ url: server.url, prefix: `rf${++n}` })
  return { store, cleanup: () => store.close() }
})

faultSuite(
  'the memory store',
  async () => {
    const store = createMemoryStreamStore()
    return { store, cleanup: () => store.close() }
  },
  async (skewMs) => {
    let offset = skewMs
    const store = createMemoryStreamStore({ now: () => Date.now() + offset })
    return { store, cleanup: () => store.close(), advance: (ms: number) => void (offset += ms) }
  },
)
