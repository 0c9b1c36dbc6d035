// A step waiting for a step-level slot (`step.queued`) is woken by the execution that frees one:
// a compare-and-set ends the wait, then the woken job is queued. Should that process die in
// between, the job is never queued; the waiting job's backstop (at most 10 s on) finds the wait
// ended by that wake and queues its job again (same id: never doubled). Before, the run stayed
// `running` for good with nothing queued (found by an acceptance probe with a SIGKILL there).
import { createMemoryStreamStore } from '@leanflow/core'
import { createRunner, defineFlow } from '@leanflow/runner'
import { expect, it } from 'vitest'
import { faultyQueue } from '../fixtures/faultyQueue.js'
import { deferred, kindsOf, waitKind } from '../fixtures/runnerKit.js'

it('a wake whose job was never queued (its process died after the write): the backstop queues it, and the run completes', async () => {
  const gate = deferred()
  const flow = defineFlow<{ hold: boolean }>({
    name: 'scarce',
    steps: {
      s: {
        concurrency: { limit: 1 },
        handler: async (input) => {
          if (input.hold) await gate.promise
          return 'done'
        },
      },
    },
  })
  const store = createMemoryStreamStore()
  // drops the first woken job (a step job carrying a slot token, not a backstop): lost with its process
  const { queue, lost: dropped } = faultyQueue((job, lostSoFar) => {
    const data = job.data as { slot?: string; backstop?: true }
    return lostSoFar === 0 && data.slot !== undefined && !data.backstop
  })
  const runner = createRunner({ store, queue, flows: [flow], onError: () => {} })
  await runner.start()
  try {
    const a = await runner.startFlow(flow, { hold: true })
    await waitKind(store, a.runId, 'step.started', 's')
    const b = await runner.startFlow(flow, { hold: false })
    await waitKind(store, b.runId, 'step.queued', 's')
    gate.resolve()
    expect(await runner.result(a.runId, { timeout: '5s' })).toEqual({ s: 'done' })
    expect(await runner.result(b.runId, { timeout: '20s' })).toEqual({ s: 'done' })
    expect(dropped).toHaveLength(1)
    expect(await kindsOf(store, b.runId)).toEqual([
      'flow.started',
      'step.queued(s)',
      'step.started(s)',
      'step.completed(s)',
      'flow.completed',
    ])
  } finally {
    await runner.stop()
    await queue.close()
  }
}, 30_000)
