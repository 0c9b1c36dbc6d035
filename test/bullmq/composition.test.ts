import { compositionSuite } from '../fixtures/compositionSuite.js'
import { bullmqSuiteFactory } from '../fixtures/suiteRunners.js'
import { useRedisServer } from '../helpers/redisServer.js'

// composition with BullMQ as the job queue: every runner of a test its own queue client on one shared queue
const redis = useRedisServer({ args: ['--hz', '100'] })
compositionSuite(
  'Redis + BullMQ',
  bullmqSuiteFactory(() => redis.url, 'bcmp'),
)
