// A run's trigger lookups (trigger id → run id) expire with the run, `retention` after its end,
// as its other keys do (DESIGN: "a finished run's keys all expire together after retention"):
// they were set to outlive any timeout by 400 days and kept the run's id for up to 800 days after
// its data was gone. While the run lives, the lookup answers; a resolve after the run's end is
// 409 TRIGGER_CONFLICT, and once everything expired, TRIGGER_NOT_FOUND. On a real redis-server.
import { createRedisStreamStore } from '@leanflow/redis'
import { createRunner, defineFlow } from '@leanflow/runner'
import { expect, it } from 'vitest'
import { useRedisServer } from '../helpers/redisServer.js'
import { waitFor } from '../helpers/waitFor.js'

const redis = useRedisServer({ client: true })

const approval = defineFlow({
  name: 'approval',
  steps: {
    ask: {
      handler: async (_input, ctx) => {
        const t = await ctx.await.trigger<{ ok: boolean }>({ type: 'webhook', timeout: '30d' })
        await ctx.state.set('trigger', t.id)
        return (await t.wait()).ok
      },
    },
  },
})

it("a run's trigger lookup expires with the run's retention once it ends, not 400 days after its timeout", async () => {
  const store = createRedisStreamStore({ url: redis.url, prefix: 'trigttl', retention: '1h' })
  const runner = createRunner({ store, flows: [approval], onError: () => {} })
  await runner.start()
  try {
    const { runId } = await runner.startFlow(approval, {})
    let triggerId = ''
    await waitFor(async () => {
      triggerId = ((await store.getRunState<{ state: Record<string, string> }>(runId))?.doc.state.trigger ?? '') as string
      return triggerId !== ''
    }, 'the trigger')
    const key = (await redis.client.keys('trigttl:trigger:*'))[0] as string
    expect(key).toContain(triggerId)
    // while the run waits: past its 30-day timeout
    expect(await redis.client.pttl(key)).toBeGreaterThan(30 * 24 * 3600_000)
    await runner.resolveTrigger(triggerId, { ok: true })
    expect(await runner.result(runId, { timeout: '10s' })).toEqual({ ask: true })
    // the run ended: the lookup lives as long as the run's keys (1 h), and a second resolve is a conflict
    await waitFor(async () => (await redis.client.pttl(key)) <= 3600_000, 'the lookup retired with the run')
    expect(await redis.client.pttl(key)).toBeGreaterThan(3500_000)
    await expect(runner.resolveTrigger(triggerId, { ok: false })).rejects.toMatchObject({ code: 'TRIGGER_CONFLICT' })
  } finally {
    await runner.stop()
    await store.close()
  }
})
