import { createMemoryStreamStore } from '@leanflow/core'
import { faultSuite } from '../fixtures/runnerFaultSuite.js'
import { redisStores } from '../fixtures/runnerKit.js'
import { logOrderSuite } from '../fixtures/runnerLogOrderSuite.js'

const redisFactory = redisStores('rf')
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
