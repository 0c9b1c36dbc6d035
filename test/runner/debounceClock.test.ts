// A debounce window's admit job that comes before the window is due by the store's clock (this
// worker's estimate of the store's clock drifted, or the queue's timer fired early) must ask again
// later, not strand the run: the job it queues again has its own id (one with the id of the
// running job is dropped by the queue as a repeat), and the worker measures the store's clock again.
import { createMemoryStreamStore } from '@leanflow/core'
import { createRunner, defineFlow } from '@leanflow/runner'
import { afterEach, describe, expect, it } from 'vitest'
import { waitEnd } from '../fixtures/runnerKit.js'

let close = async () => {}
afterEach(() => close())

describe('debounce admit job ahead of the store clock', () => {
  it('a job that finds the window still open asks again, and the run completes', async () => {
    let skewMs = 0
    // the store's clock falls behind the timers once the run is written: its admit job then fires early
    const store = createMemoryStreamStore({ now: () => Date.now() - skewMs })
    const inputs: unknown[] = []
    const flow = defineFlow<{ v: number }>({
      name: 'deb',
      debounce: { period: 200 },
      steps: { a: { handler: async (input) => void inputs.push(input) } },
    })
    const runner = createRunner({ store, flows: [flow] })
    close = () => runner.stop()
    await runner.start()
    const first = await runner.startFlow('deb', { v: 1 })
    expect((await runner.startFlow('deb', { v: 2 })).runId).toBe(first.runId)
    skewMs = 150
    const end = await waitEnd(store, first.runId, 5_000)
    expect(end.kind).toBe('flow.completed')
    expect(inputs).toEqual([{ v: 2 }])
  })
})
