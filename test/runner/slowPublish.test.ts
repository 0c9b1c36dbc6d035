// A publish whose matching takes longer than its match job's 5 s (many waiting runs, a slow
// store) moves that job out while it runs, so the job never matches beside a publisher that is
// alive: one pass over the waiting runs, not two (found by review: each slow publish doubled its
// load). The memory store, its kindWatchers slowed to 6 s once; a started runner takes the jobs.
import { createMemoryStreamStore } from '@leanflow/core'
import { createRunner, defineFlow } from '@leanflow/runner'
import { expect, it } from 'vitest'
import { waitKind } from '../fixtures/runnerKit.js'
import { aroundMethod } from '../helpers/aroundMethod.js'

it('a publish matching for 6 s is matched once: its match job is moved out meanwhile, then removed', async () => {
  const flow = defineFlow({
    name: 'pay',
    steps: { s: { handler: async (_i, ctx) => (await ctx.await.event<number>({ kind: 'paid' })).data } },
  })
  const memory = createMemoryStreamStore()
  let passes = 0
  let slow = false
  const store = aroundMethod(memory, 'kindWatchers', async (kindWatchers, args) => {
    if (slow) {
      passes++
      await new Promise((r) => setTimeout(r, 6000))
    }
    return kindWatchers(...args)
  })
  const runner = createRunner({ store, flows: [flow], onError: () => {} })
  await runner.start()
  try {
    const { runId } = await runner.startFlow(flow, {})
    await waitKind(memory, runId, 'step.await.event')
    slow = true
    await runner.publishEvent({ kind: 'paid', data: 7 })
    expect(await runner.result(runId, { timeout: '5s' })).toEqual({ s: 7 })
    // past when the first job would have come: nothing matched again
    await new Promise((r) => setTimeout(r, 500))
    expect(passes).toBe(1)
  } finally {
    await runner.stop()
  }
}, 30_000)
