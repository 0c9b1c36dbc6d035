// A run that reaches its store's maxEventsPerRun (DESIGN: "a run over maxEventsPerRun throws
// RUN_TOO_LONG") ends, failed, instead of running for good: the store still takes the events
// that end an attempt or a run (step.failed, flow.completed, flow.failed, flow.canceled) up to
// CLOSING_EVENTS_RESERVE past the limit, and the runner fails the attempt for good on
// RUN_TOO_LONG (a retry could not even record its start). On the memory store and a real
// redis-server.
import { CLOSING_EVENTS_RESERVE, createMemoryStreamStore, reduceFlow } from '@leanflow/core'
import { createRedisStreamStore } from '@leanflow/redis'
import { createRunner, defineFlow, type RunnerStore } from '@leanflow/runner'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RedisServer, startRedis } from '../helpers/redisServer.js'

const chatty = defineFlow({
  name: 'chatty',
  steps: {
    s: {
      // retries left: RUN_TOO_LONG must not use them (each would need a step.started)
      retry: { attempts: 3, backoff: { type: 'fixed', delayMs: 10 } },
      handler: async (_input, ctx) => {
        for (let i = 0; i < 20; i++) ctx.logger.info(`line ${i}`)
        return 1
      },
    },
    after: { needs: ['s'], handler: async () => 2 },
  },
})

let redis: RedisServer
let prefixes = 0
beforeAll(async () => {
  redis = await startRedis()
})
afterAll(async () => {
  await redis?.stop()
})

const stores: Array<[string, (max: number) => RunnerStore]> = [
  ['memory', (max) => createMemoryStreamStore({ maxEventsPerRun: max })],
  ['redis', (max) => createRedisStreamStore({ url: redis.url, prefix: `rtl${++prefixes}`, maxEventsPerRun: max })],
]

describe.each(stores)('a run at maxEventsPerRun (%s store)', (_label, make) => {
  it('ends failed with RUN_TOO_LONG, its log closed past the limit by step.failed and flow.failed', async () => {
    const store = make(12)
    const runner = createRunner({ store, flows: [chatty], onError: () => {} })
    await runner.start()
    try {
      const { runId } = await runner.startFlow('chatty', {})
      const err = await runner.result(runId, { timeout: '5s' }).catch((e: unknown) => e)
      expect((err as { code?: string }).code).toBe('RUN_FAILED')
      const log = await store.read(runId, { limit: 1000 })
      const state = reduceFlow(log)
      expect(state.status).toBe('failed')
      expect(state.steps.s).toMatchObject({ status: 'failed', attempt: 1 })
      expect(state.steps.s?.error).toMatch(/maxEventsPerRun 12/)
      expect(state.steps.after?.status).toBe('canceled')
      // the limit held for everything else; the closing events went past it, within the reserve
      expect(log.slice(12).map((e) => e.kind)).toEqual(['step.failed', 'flow.failed'])
      expect(log.length).toBeLessThanOrEqual(12 + CLOSING_EVENTS_RESERVE)
      expect(log.filter((e) => e.kind === 'step.started')).toHaveLength(1)
    } finally {
      await runner.stop()
      await store.close()
    }
  })
})
