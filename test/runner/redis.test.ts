import { awaitSuite } from '../fixtures/runnerAwaitSuite.js'
import { redisStores } from '../fixtures/runnerKit.js'
import { runnerSuite } from '../fixtures/runnerSuite.js'

// a fresh key prefix per test on one real redis-server
const factory = redisStores('rt')

runnerSuite('the Redis store', factory)
awaitSuite('the Redis store', factory)
