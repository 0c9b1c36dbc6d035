import { createMemoryStreamStore } from '@leanflow/core'
import { compositionSuite } from '../fixtures/compositionSuite.js'
import { redisStores } from '../fixtures/runnerKit.js'

// composition on the memory store and on a real redis-server (a fresh prefix per test)
compositionSuite('memory', async () => {
  const store = createMemoryStreamStore()
  return { store, cleanup: () => store.close() }
})
compositionSuite('Redis', redisStores('cmp'))
