import { createMemoryStreamStore } from '@leanflow/core'
import { rerunSuite } from '../fixtures/rerunSuite.js'
import { redisStores } from '../fixtures/runnerKit.js'

// runner.rerun's keys and edges on the memory store and on a real redis-server (a fresh prefix per test)
rerunSuite('memory', async () => {
  const store = createMemoryStreamStore()
  return { store, cleanup: () => store.close() }
})
rerunSuite('Redis', redisStores('rrk'))
