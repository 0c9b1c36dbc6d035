// ctx.publish of data over the store's event limit throws PayloadTooLargeError at the call, as
// ctx.emit does (docs/runner.md, "What a step hands the runner"): the handler can catch it, and
// nothing is published. It went into the publish and handed the job back instead, so the handler
// never saw the error and the attempt failed with it.
import { createMemoryStreamStore } from '@leanflow/core'
import { createRunner, defineFlow } from '@leanflow/runner'
import { expect, it } from 'vitest'

it('ctx.publish over the event limit throws PAYLOAD_TOO_LARGE at the call, catchable; nothing is published', async () => {
  const flow = defineFlow({
    name: 'bigPublish',
    steps: {
      s: {
        retry: { attempts: 1 },
        handler: async (_i, ctx) => {
          try {
            await ctx.publish('big.one', 'x'.repeat(2 * 1024 * 1024))
            return 'published'
          } catch (err) {
            return `${(err as Error).name}:${(err as { code?: string }).code}`
          }
        },
      },
    },
  })
  const store = createMemoryStreamStore()
  const runner = createRunner({ store, flows: [flow], onError: () => {} })
  await runner.start()
  try {
    const { runId } = await runner.startFlow(flow, {})
    expect(await runner.result(runId, { timeout: '10s' })).toEqual({ s: 'PayloadTooLargeError:PAYLOAD_TOO_LARGE' })
    expect(await store.readExternal('big.one', 0)).toEqual([])
  } finally {
    await runner.stop()
    await store.close()
  }
})
