// An uncaught refusal of `maxPendingAwaits` fails its step for good: every retry would make the
// same calls and be refused again (it used to spend the step's attempts and their backoff first).
import { createMemoryStreamStore } from '@leanflow/core'
import { createRunner, defineFlow } from '@leanflow/runner'
import { expect, it } from 'vitest'
import { kindsOf } from '../fixtures/runnerKit.js'

it('a step past maxPendingAwaits fails at once with INVALID_ARGUMENT, not retried', async () => {
  let executions = 0
  const flow = defineFlow({
    name: 'wide',
    steps: {
      s: {
        retry: { attempts: 3, backoff: { type: 'fixed', delayMs: 10 } },
        handler: async (_input, ctx) => {
          executions++
          await Promise.all([ctx.await.time('1h'), ctx.await.time('1h'), ctx.await.time('1h')])
        },
      },
    },
  })
  const store = createMemoryStreamStore()
  const runner = createRunner({ store, flows: [flow], maxPendingAwaits: 2, onError: () => {} })
  await runner.start()
  try {
    const { runId } = await runner.startFlow(flow, {})
    await expect(runner.result(runId, { timeout: '5s' })).rejects.toMatchObject({ code: 'RUN_FAILED' })
    const log = await store.read(runId, { limit: 100 })
    const failed = log.filter((e) => e.kind === 'step.failed')
    expect(failed).toHaveLength(1)
    expect(failed[0]?.data).toMatchObject({ willRetry: false })
    expect(JSON.stringify(failed[0]?.data)).toContain('maxPendingAwaits 2')
    expect(executions).toBe(1)
    expect(await kindsOf(store, runId)).not.toContain('step.retry(s)')
  } finally {
    await runner.stop()
  }
})
