// A step-level concurrency slot counts handlers running (docs/flow-control.md: "at most `limit`
// executions of this step's handler at once"): a handler that runs on once its execution ended
// (its run canceled, its step timed out) and ignores ctx.signal keeps its slot until it settles.
// Before, the slot went back at once and the next run's handler ran beside it (found by an
// acceptance probe: 2 handlers at once with limit 1, on memory and on BullMQ).
import { createMemoryStreamStore } from '@leanflow/core'
import { createRunner, defineFlow } from '@leanflow/runner'
import { afterEach, expect, it } from 'vitest'
import { waitKind } from '../fixtures/runnerKit.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const stops: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop()
})

/** A flow whose one step (limit 1) runs `ms` whatever ctx.signal says, counting handlers at once. */
function scarce(timeout?: string) {
  const seen = { now: 0, most: 0, entered: 0 }
  const flow = defineFlow<{ ms: number }>({
    name: 'scarce',
    steps: {
      s: {
        concurrency: { limit: 1 },
        retry: { attempts: 1 },
        ...(timeout ? { timeout } : {}),
        handler: async (input) => {
          seen.entered++
          seen.most = Math.max(seen.most, ++seen.now)
          await sleep(input.ms)
          seen.now--
          return 'done'
        },
      },
    },
  })
  return { flow, seen }
}

it.each([
  ['its run canceled', undefined],
  ['its step timed out', '150ms'],
])('a handler that runs on after %s keeps its slot until it returns: the next run waits for it', async (_what, timeout) => {
  const { flow, seen } = scarce(timeout)
  const store = createMemoryStreamStore()
  const runner = createRunner({ store, flows: [flow], cancelPollMs: 20, onError: () => {} })
  await runner.start()
  stops.push(() => runner.stop())
  const a = await runner.startFlow(flow, { ms: 600 })
  await waitKind(store, a.runId, 'step.started', 's')
  const b = await runner.startFlow(flow, { ms: 10 })
  await waitKind(store, b.runId, 'step.queued', 's')
  if (!timeout) await runner.cancel(a.runId, 'stop')
  await runner.result(b.runId, { timeout: '10s' })
  expect(seen.entered).toBe(2)
  expect(seen.most).toBe(1)
})
