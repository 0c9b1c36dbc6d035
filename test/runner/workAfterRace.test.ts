// Only ctx calls keep a step running while one of its awaits is pending (design/composition.md:
// "other promises the handler holds are not durable and do not keep the step running"). After a
// race the timer won, a plain `await` (a fetch, a sleep) lets the step suspend on the loser: what
// the handler does after it is not recorded. That used to be silent (a return value dropped, a
// ctx call refused with "the step suspended"); the runner now says what happened and what to do.
import { createMemoryStreamStore } from '@leanflow/core'
import { createRunner, defineFlow } from '@leanflow/runner'
import { expect, it } from 'vitest'
import { waitKind } from '../fixtures/runnerKit.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

it('a handler that goes on outside ctx calls after its step suspended on a race loser: its ctx call and its outcome are reported, naming ctx.do', async () => {
  const refused: unknown[] = []
  const flow = defineFlow({
    name: 'racer',
    steps: {
      s: {
        handler: async (_input, ctx) => {
          const loser = ctx.await.event({ kind: 'never' })
          const won = await Promise.race([ctx.await.time('50ms').then(() => 'time'), loser])
          await sleep(100) // plain async work: the step suspends on the loser meanwhile
          await ctx.do('after', async () => 1).catch((err: unknown) => refused.push(err))
          return won
        },
      },
    },
  })
  const store = createMemoryStreamStore()
  const errors: Error[] = []
  const runner = createRunner({ store, flows: [flow], onError: (err) => errors.push(err as Error) })
  await runner.start()
  try {
    const { runId } = await runner.startFlow(flow, {})
    await waitKind(store, runId, 'step.resumed', 's')
    for (let i = 0; i < 100 && errors.length === 0; i++) await sleep(20)
    expect(refused).toHaveLength(1)
    expect((refused[0] as Error).message).toContain('ctx.do')
    expect(errors).toHaveLength(1)
    expect(errors[0]?.message).toMatch(/Step "s" of run "\w+" went on after it suspended on its pending awaits \(position 0\)/)
    expect(errors[0]?.message).toContain('inside ctx.do')
    // as designed: the step waits on the loser
    expect((await store.getRunState<{ steps: Record<string, { status: string }> }>(runId))?.doc.steps.s?.status).toBe('suspended')
  } finally {
    await runner.stop()
  }
})
