// An await's timeout is decided by its `timeout` job. Should that job be lost (its worker died
// after it was queued, or a step-level slot's place in line it waited in was taken by the job of
// another await of the step), a step suspended again on that await, past its timeout, waited on
// it for good. A suspend now times out every await whose timeout has passed, as it fires a due
// timer: the step goes on with the timeout at once.
import { createMemoryStreamStore } from '@leanflow/core'
import { createRunner, defineFlow } from '@leanflow/runner'
import { expect, it } from 'vitest'
import { faultyQueue } from '../fixtures/faultyQueue.js'
import { kindsOf, waitKind } from '../fixtures/runnerKit.js'

it('a step woken by another await past an await’s timeout whose job was lost: its suspend times that await out', async () => {
  const flow = defineFlow({
    name: 'pair',
    steps: {
      s: {
        handler: async (_input, ctx) => {
          const [a, b] = await Promise.all([
            ctx.await.event({ kind: 'a', timeout: '200ms' }).catch((err: Error) => `a: ${err.name}`),
            ctx.await.event({ kind: 'b' }),
          ])
          return { a, b }
        },
      },
    },
  })
  const store = createMemoryStreamStore()
  // the timeout job of the await at position 0 is lost with its process
  const { queue, lost: dropped } = faultyQueue((job) => job.name === 'timeout')
  const runner = createRunner({ store, queue, flows: [flow], onError: () => {} })
  await runner.start()
  try {
    const { runId } = await runner.startFlow(flow, {})
    await waitKind(store, runId, 'step.await.event', 's')
    await new Promise((r) => setTimeout(r, 400))
    await runner.publishEvent({ kind: 'b', data: { n: 1 } })
    // before: the step resumed on b, suspended again on a, and waited for good
    expect(await runner.result(runId, { timeout: '5s' })).toMatchObject({
      s: { a: 'a: AwaitTimeoutError', b: { kind: 'b', data: { n: 1 } } },
    })
    expect(dropped.length).toBeGreaterThan(0)
    const kinds = await kindsOf(store, runId)
    expect(kinds.filter((k) => k === 'step.await.timeout(s)')).toHaveLength(1)
    expect(kinds.at(-1)).toBe('flow.completed')
  } finally {
    await runner.stop()
    await queue.close()
  }
}, 20_000)
