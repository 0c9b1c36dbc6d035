// A step with a step-level concurrency slot suspends on an await: the slot goes back at once (an
// await holds no slot). When the step's own poll of its run saw the suspend before the suspend's
// write answered (a loaded process: the answer came late), the execution was taken as having lost
// its lease, and the slot waited for the handler to settle, which a suspended handler never does:
// the slot was renewed for as long as the process lived, and every other execution of the step
// waited behind it. Here the store answers the suspend's write 300 ms late, so the 50 ms poll reads
// the suspended run first.
import { createMemoryStreamStore } from '@leanflow/core'
import { createRedisStreamStore } from '@leanflow/redis'
import { createRunner, defineFlow, type RunnerStore } from '@leanflow/runner'
import { afterEach, describe, expect, it } from 'vitest'
import { aroundMethod } from '../helpers/aroundMethod.js'
import { useRedisServer } from '../helpers/redisServer.js'
import { waitFor } from '../helpers/waitFor.js'

const redis = useRedisServer()
const closers: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const close of closers.splice(0)) await close()
})

/** `store`, answering each write that suspends step `call` `lateMs` after it landed. */
function lateSuspends(store: RunnerStore, lateMs: number): { store: RunnerStore; late: () => number } {
  let late = 0
  const proxy = aroundMethod(store, 'casRunState', async (cas, args) => {
    const res = await cas(...args)
    const doc = args[2] as { steps?: Record<string, { status?: string }> } | undefined
    if (doc?.steps?.call?.status === 'suspended' && (res as { ok?: boolean }).ok) {
      late++
      await new Promise((r) => setTimeout(r, lateMs))
    }
    return res
  })
  return { store: proxy, late: () => late }
}

describe.each([
  ['memory', () => createMemoryStreamStore() as RunnerStore],
  ['redis-server', () => createRedisStreamStore({ url: redis.url, prefix: `slot${Math.random().toString(36).slice(2)}` }) as RunnerStore],
])('on %s', (_name, make) => {
  it('a step-level slot goes back when its step suspends, even when its poll saw the suspend before the write answered', async () => {
    const real = make()
    const { store, late } = lateSuspends(real, 300)
    const flow = defineFlow({
      name: 'stepc',
      steps: {
        call: {
          concurrency: { limit: 1 },
          handler: async (_i, ctx) => {
            await ctx.await.time(100)
            return 'ok'
          },
        },
      },
    })
    const runner = createRunner({ store, flows: [flow], cancelPollMs: 50, onError: () => {} })
    closers.push(async () => {
      await runner.stop()
      await real.close()
    })
    await runner.start()
    const ids = (await Promise.all([0, 1, 2].map(() => runner.startFlow(flow, {})))).map((s) => s.runId)
    // each run's call suspends once and resumes once: within seconds, not the slot's 30 s lease (nor never)
    for (const runId of ids) expect(await runner.result(runId, { timeout: '8s' })).toEqual({ call: 'ok' })
    expect(late()).toBeGreaterThanOrEqual(3)
    const usage = () => (store as unknown as { limitUsage(s: string): Promise<unknown[]> }).limitUsage('stepc/call')
    // the last execution gives its slot back as its job ends, just after the run's end
    await waitFor(async () => (await usage()).length === 0, 'no slot held once every run ended', 2000)
  }, 30_000)
})
