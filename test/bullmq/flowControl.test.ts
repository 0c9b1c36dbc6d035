import { flowControlSuite } from '../fixtures/flowControlSuite.js'
import { bullmqSuiteFactory } from '../fixtures/suiteRunners.js'
import { useRedisServer } from '../helpers/redisServer.js'

// flow control with BullMQ as the job queue: every runner of a test its own queue client on one shared queue
const redis = useRedisServer({ args: ['--hz', '100'] })
flowControlSuite(
  'Redis + BullMQ',
  bullmqSuiteFactory(() => redis.url, 'bfc'),
)
