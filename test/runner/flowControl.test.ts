import { createMemoryStreamStore } from '@leanflow/core'
import { flowControlSuite } from '../fixtures/flowControlSuite.js'
import { redisStores } from '../fixtures/runnerKit.js'

// flow control on the memory store and on a real redis-server (a fresh prefix per test)
flowControlSuite('memory', async () => {
  const store = createMemoryStreamStore()
  return { store, cleanup: () => store.close() }
})
flowControlSuite('Redis', redisStores('fc'))
