import { createMemoryStreamStore } from '@leanflow/core'
import { redisStores } from '../fixtures/runnerKit.js'
import { versionSuite } from '../fixtures/versionSuite.js'

// versions, patches and reruns on the memory store and on a real redis-server (a fresh prefix per test)
versionSuite('memory', async () => {
  const store = createMemoryStreamStore()
  return { store, cleanup: () => store.close() }
})
versionSuite('Redis', redisStores('ver'))
