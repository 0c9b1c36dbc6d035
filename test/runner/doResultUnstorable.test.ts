// A ctx.do whose effect ran but whose result cannot be recorded (a BigInt, nesting past 512
// levels) fails its step for good: a retry would run the effect again ("runs once") and fail again.
import { createMemoryStreamStore } from '@leanflow/core'
import { createRunner, defineFlow } from '@leanflow/runner'
import { expect, it } from 'vitest'

it('a ctx.do result that cannot be stored fails the step once, with no retry: the effect ran once', async () => {
  let effects = 0
  const deep = () => {
    let v: unknown = 1
    for (let i = 0; i < 600; i++) v = [v]
    return v
  }
  const flow = defineFlow({
    name: 'unstorable',
    steps: {
      big: {
        retry: { attempts: 3, backoff: { type: 'fixed', delayMs: 10 } },
        handler: async (input: { kind: 'bigint' | 'deep' }, ctx) =>
          ctx.do('charge', () => {
            effects++
            return input.kind === 'bigint' ? 10n : deep()
          }),
      },
    },
  })
  const store = createMemoryStreamStore()
  const runner = createRunner({ store, flows: [flow], onError: () => {} })
  await runner.start()
  try {
    for (const [kind, message] of [
      ['bigint', /result of ctx\.do\("charge"\).*not JSON-serializable/],
      ['deep', /more than 512 levels deep/],
    ] as const) {
      effects = 0
      const { runId } = await runner.startFlow(flow, { kind })
      await expect(runner.result(runId, { timeout: '10s' })).rejects.toMatchObject({ code: 'RUN_FAILED' })
      const failed = (await store.read(runId)).filter((e) => e.kind === 'step.failed')
      expect(failed.map((e) => (e.data as { willRetry: boolean }).willRetry)).toEqual([false])
      expect(String((failed[0]?.data as { error?: unknown } | undefined)?.error)).toMatch(message)
      expect(effects).toBe(1)
    }
  } finally {
    await runner.stop()
    await store.close()
  }
})

it('a handler that catches that refusal and goes on: its next ctx.do is refused before its effect, and the step fails for good (no effect runs twice)', async () => {
  const runs = { x: 0, x2: 0 }
  const flow = defineFlow({
    name: 'caught',
    steps: {
      s: {
        retry: { attempts: 3, backoff: { type: 'fixed', delayMs: 10 } },
        handler: async (_input, ctx) => {
          try {
            await ctx.do('x', () => {
              runs.x++
              return 10n
            })
          } catch {}
          return ctx.do('x2', () => ++runs.x2)
        },
      },
    },
  })
  const store = createMemoryStreamStore()
  const runner = createRunner({ store, flows: [flow], onError: () => {} })
  await runner.start()
  try {
    const { runId } = await runner.startFlow(flow, {})
    await expect(runner.result(runId, { timeout: '10s' })).rejects.toMatchObject({ code: 'RUN_FAILED' })
    const failed = (await store.read(runId)).filter((e) => e.kind === 'step.failed')
    // x's effect ran and could not be recorded: no retry (it would run again); x2 never ran
    expect(failed.map((e) => (e.data as { willRetry: boolean }).willRetry)).toEqual([false])
    expect(runs).toEqual({ x: 1, x2: 0 })
  } finally {
    await runner.stop()
    await store.close()
  }
})
