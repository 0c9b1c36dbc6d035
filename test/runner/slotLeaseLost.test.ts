// A step-level slot is a lease, renewed while its handler runs. Should no renewal reach the store
// within `slotLeaseMs` (Redis unreachable, paused, restarted that long), the store counts the
// slot free and may admit another execution beside the handler (a dead worker and a cut-off one
// look the same to it). Before, the runner said so with an untyped Error on every renewal tick,
// naming the wrong fix, and the handler ran on unaware. Now it is said once, typed, and the
// handler's ctx.signal aborts: a handler that stops fails its attempt, retried with a slot.
import { createRedisStreamStore } from '@leanflow/redis'
import { createRunner, defineFlow } from '@leanflow/runner'
import { expect, it } from 'vitest'
import { waitKind } from '../fixtures/runnerKit.js'
import { useRedisServer } from '../helpers/redisServer.js'

const redis = useRedisServer({ client: true })

it('a slot whose lease runs out while its store is paused: reported once (STORE_UNAVAILABLE), the handler’s ctx.signal aborts, the attempt is retried and the run completes', async () => {
  const aborted: unknown[] = []
  let executions = 0
  const flow = defineFlow({
    name: 'leased',
    steps: {
      s: {
        concurrency: { limit: 1 },
        retry: { attempts: 2, backoff: { type: 'fixed', delayMs: 50 } },
        handler: async (_input, ctx) => {
          if (++executions > 1) return 'again'
          // a long handler that stops when told to
          await new Promise<void>((resolve, reject) => {
            const t = setTimeout(resolve, 15_000)
            ctx.signal.addEventListener('abort', () => {
              clearTimeout(t)
              aborted.push(ctx.signal.reason)
              reject(ctx.signal.reason)
            })
          })
          return 'first'
        },
      },
    },
  })
  const store = createRedisStreamStore({ url: redis.url, prefix: `lease${Date.now().toString(36)}` })
  const errors: Error[] = []
  const runner = createRunner({ store, flows: [flow], slotLeaseMs: 1000, onError: (err) => errors.push(err as Error) })
  await runner.start()
  try {
    const { runId } = await runner.startFlow(flow, {})
    await waitKind(store, runId, 'step.started', 's')
    // no write lands for 2.5 s: the renewals wait, and land after the lease ran out
    await redis.client.call('CLIENT', 'PAUSE', '2500', 'WRITE')
    expect(await runner.result(runId, { timeout: '15s' })).toEqual({ s: 'again' })
    expect(aborted).toHaveLength(1)
    expect(aborted[0]).toMatchObject({ code: 'STORE_UNAVAILABLE' })
    const lost = errors.filter((e) => /ran out while its handler ran/.test(e.message))
    expect(lost).toHaveLength(1)
    expect(lost[0]).toMatchObject({ code: 'STORE_UNAVAILABLE' })
    expect(lost[0]?.message).toContain('slotLeaseMs (1000 ms)')
    expect(executions).toBe(2)
  } finally {
    await runner.stop()
    await store.close()
  }
}, 30_000)
