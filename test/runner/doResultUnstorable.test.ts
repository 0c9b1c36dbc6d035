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
