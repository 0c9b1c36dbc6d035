import { createMemoryStreamStore } from '@leanflow/core'
import { redisStores } from '../fixtures/runnerKit.js'
import { scheduleSuite } from '../fixtures/scheduleSuite.js'

// runner.schedules on the memory store and on a real redis-server (a fresh prefix per test)
scheduleSuite('memory', async () => {
  const store = createMemoryStreamStore()
  return { store, cleanup: () => store.close() }
})
scheduleSuite('Redis', redisStores('sch'))
