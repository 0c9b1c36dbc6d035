// A run's state document edited by hand while a step runs (no `steps`): the step's cancel poll
// stops the execution (the document holds no lease of it) and the process stays up. Before, the
// poll threw inside its promise's callback, past its error handler: an unhandled rejection that
// ends a Node process.
import { createRedisStreamStore, type RedisStreamStore } from '@leanflow/redis'
import { createRunner, defineFlow, type Runner } from '@leanflow/runner'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { useRedisServer } from '../helpers/redisServer.js'
import { waitFor } from '../helpers/waitFor.js'

const redis = useRedisServer()
const prefix = 'garbled'
let store: RedisStreamStore
let runner: Runner
let raw: Redis
const stopped: AbortSignal[] = []
const unhandled: unknown[] = []
const onUnhandled = (reason: unknown) => unhandled.push(reason)

const slow = defineFlow({
  name: 'slow',
  steps: {
    a: {
      handler: async (_input, ctx) => {
        stopped.push(ctx.signal)
        await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve(), { once: true }))
        return null
      },
    },
  },
})

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled)
  raw = new Redis(redis.url)
  store = createRedisStreamStore({ url: redis.url, prefix })
  runner = createRunner({ store, flows: [slow], cancelPollMs: 50, onError: () => {} })
  await runner.start()
})
afterAll(async () => {
  process.off('unhandledRejection', onUnhandled)
  await runner?.stop()
  await store?.close()
  raw?.disconnect()
})

it('a state document without steps stops the running step; no unhandled rejection', async () => {
  const { runId } = await runner.startFlow(slow, {})
  await waitFor(() => stopped.length === 1, 'the step runs')
  await raw.hset(`${prefix}:{${runId}}:state`, 'd', '{"status":"running"}')
  await waitFor(() => stopped[0]?.aborted === true, 'the step stopped')
  await new Promise((r) => setTimeout(r, 200)) // a few more polls
  expect(unhandled).toEqual([])
})
