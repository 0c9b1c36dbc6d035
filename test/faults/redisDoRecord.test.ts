// A `ctx.do` whose effect finished while Redis could not be reached (SIGKILLed and restarted
// with AOF, or SIGSTOPped: longer than the store's commandTimeout either way), though no worker
// died: its record is written again until Redis answers, so the effect ran once and the run
// completes with one step.started. Before, the failed record handed the step back and its next
// delivery ran the effect a second time (docs: an effect runs again only if its worker dies
// between the effect and its record).
import { isTerminalKind } from '@leanflow/core'
import { createRedisStreamStore, type RedisStreamStore } from '@leanflow/redis'
import { createRunner, defineFlow, type Runner } from '@leanflow/runner'
import { afterEach, expect, it } from 'vitest'
import { logOf } from '../fixtures/runnerKit.js'
import { useRedisServer } from '../helpers/redisServer.js'
import { waitFor } from '../helpers/waitFor.js'

const redis = useRedisServer({ appendonly: true })
let store: RedisStreamStore | undefined
let runner: Runner | undefined
afterEach(async () => {
  redis.thaw()
  await runner?.stop()
  await store?.close()
})

async function chargeOnceThrough(outage: () => Promise<void>, prefix: string) {
  let effects = 0
  const flow = defineFlow({
    name: 'pay',
    steps: {
      charge: {
        handler: async (_i, ctx) =>
          ctx.do('charge-card', async () => {
            if (++effects === 1) await outage() // the charge went through; Redis is gone before its record
            return { charged: true }
          }),
      },
    },
  })
  store = createRedisStreamStore({ url: redis.url, prefix, commandTimeout: 1000 })
  runner = createRunner({ store, flows: [flow], onError: () => {} })
  await runner.start()
  const { runId } = await runner.startFlow('pay', {})
  const s = store
  await waitFor(
    async () => isTerminalKind((await s.read(runId, { direction: 'backward', limit: 1 }).catch(() => []))[0]?.kind ?? ''),
    'the run to end',
    30_000,
  )
  const log = await logOf(s, runId)
  expect(log.at(-1)?.kind).toBe('flow.completed')
  expect(log.filter((e) => e.kind === 'step.started')).toHaveLength(1)
  expect(effects).toBe(1)
}

it('redis-server SIGKILLed as the effect ends and restarted 1.5 s later (AOF): the effect ran once', async () => {
  await chargeOnceThrough(async () => {
    await redis.kill()
    setTimeout(() => void redis.restart(), 1500)
  }, 'dorec1')
}, 60_000)

it('redis-server frozen (SIGSTOP) for 2.5 s as the effect ends: the effect ran once', async () => {
  await chargeOnceThrough(async () => {
    redis.freeze()
    setTimeout(() => redis.thaw(), 2500)
  }, 'dorec2')
}, 60_000)
