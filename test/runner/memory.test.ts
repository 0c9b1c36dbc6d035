import { createMemoryStreamStore } from '@leanflow/core'
import { awaitSuite } from '../fixtures/runnerAwaitSuite.js'
import { runnerSuite } from '../fixtures/runnerSuite.js'

const factory = async () => {
  const store = createMemoryStreamStore()
  return { store, cleanup: () => store.close() }
}

runnerSuite('the memory store', factory)
awaitSuite('the memory store', factory)
