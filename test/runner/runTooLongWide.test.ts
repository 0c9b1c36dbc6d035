// A run whose parallel steps fill its log (maxEventsPerRun) fails and ends: the events its other
// steps still had to write cannot be held, and its flow.failed (in the closing kinds' reserve)
// is written after them. Before, the refusals of those events stopped the run's end for good: the
// run stayed `running` (listRuns, SSE without `end`, runner.result waiting) and the runner tried
// again and again.
import { createMemoryStreamStore, isLeanflowError, reduceFlow } from '@leanflow/core'
import { createRedisStreamStore } from '@leanflow/redis'
import { createRunner, defineFlow, type RunnerStore } from '@leanflow/runner'
import { describe, expect, it } from 'vitest'
import { useRedisServer } from '../helpers/redisServer.js'

const steps: Record<string, { handler: (input: unknown, ctx: { logger: { info(m: string): void } }) => Promise<number> }> = {}
for (let i = 0; i < 10; i++)
  steps[`s${i}`] = {
    handler: async (_input, ctx) => {
      for (let j = 0; j < 3; j++) ctx.logger.info(`line ${j}`)
      return i
    },
  }
const wide = defineFlow({ name: 'wide', steps: steps as never })

async function fillsItsLog(store: RunnerStore) {
  const runner = createRunner({ store, flows: [wide], onError: () => {} })
  await runner.start()
  try {
    const { runId } = await runner.startFlow(wide, {})
    const err = await runner.result(runId, { timeout: '15s' }).catch((e: unknown) => e)
    expect(isLeanflowError(err, 'RUN_FAILED'), String(err)).toBe(true)
    const events = await store.read(runId, { limit: 1000 })
    expect(events.at(-1)?.kind).toBe('flow.failed')
    expect(reduceFlow(events).status).toBe('failed')
    expect((await store.listRuns('wide'))[0]?.status).toBe('failed')
  } finally {
    await runner.stop()
  }
}

describe('ten parallel steps over maxEventsPerRun 20', () => {
  it('on the memory store, the run fails and ends', async () => {
    const store = createMemoryStreamStore({ maxEventsPerRun: 20 })
    await fillsItsLog(store)
    await store.close()
  })
  describe('on redis-server', () => {
    const redis = useRedisServer()
    it('the run fails and ends', async () => {
      const store = createRedisStreamStore({ url: redis.url, prefix: 'toolongwide', maxEventsPerRun: 20 })
      await fillsItsLog(store)
      await store.close()
    })
  })
})
