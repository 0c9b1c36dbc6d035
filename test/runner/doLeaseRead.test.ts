// A ctx.do more than 250 ms after its execution last knew its lease reads the run first (a
// stalled worker must not run an effect the take-over recorded: test/faults/bullmq.runner.test.ts).
// When that read fails (the store unreachable), the call fails before its function runs, and a
// handler that catches it and goes on gets "cannot be recorded" from its next ctx call, as after
// any failed ctx.do: the calls after it waited for its turn for ever before (the step hung).
import { createMemoryStreamStore, LeanflowError } from '@leanflow/core'
import { createRunner, defineFlow } from '@leanflow/runner'
import { afterEach, expect, it } from 'vitest'

const stores: Array<{ close(): Promise<void> }> = []
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close()
})

it('a ctx.do whose lease read fails runs nothing; the handler going on fails the attempt, and the retry runs both calls once', async () => {
  const store = createMemoryStreamStore()
  stores.push(store)
  let failing = false
  let reads = 0
  const flaky = new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === 'getRunState')
        return (...args: unknown[]) => {
          if (failing) return Promise.reject(new LeanflowError('STORE_UNAVAILABLE', 'Redis is not reached (injected)'))
          reads++
          return (target.getRunState as (...a: unknown[]) => unknown).apply(target, args)
        }
      const v = Reflect.get(target, prop, receiver)
      return typeof v === 'function' ? v.bind(target) : v
    },
  })
  const effects: string[] = []
  const caught: unknown[] = []
  const flow = defineFlow({
    name: 'charge',
    steps: {
      s: {
        retry: { attempts: 2, backoff: { type: 'fixed', delayMs: 10 } },
        handler: async (_input, ctx) => {
          await new Promise((r) => setTimeout(r, 400)) // past the lease's 250 ms: the next ctx.do reads the run
          failing = ctx.attempt === 1
          try {
            await ctx.do('a', async () => void effects.push(`a${ctx.attempt}`))
          } catch (err) {
            caught.push(err)
          } finally {
            failing = false
          }
          await ctx.do('b', async () => void effects.push(`b${ctx.attempt}`))
          return 'ok'
        },
      },
    },
  })
  const runner = createRunner({ store: flaky, flows: [flow], cancelPollMs: 60_000, onError: () => {} })
  await runner.start()
  try {
    const { runId } = await runner.startFlow(flow, {})
    expect(await runner.result(runId, { timeout: '10s' })).toEqual({ s: 'ok' })
    expect(effects).toEqual(['a2', 'b2'])
    expect(caught).toHaveLength(1)
    expect(String((caught[0] as Error).message)).toMatch(/injected/)
    expect(reads).toBeGreaterThan(0)
  } finally {
    await runner.stop()
  }
})
