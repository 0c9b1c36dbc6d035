import { createMemoryStreamStore } from '@leanflow/core'

import { runnerSuite } from './fixtures/runnerSuite.js'

const factory = async () => {
  const store = createMemoryStreamStore()
  return { store, cleanup: () => store.close() }
}

runnerSuite('the memory store', factory)
