/**
 * A run's last appends ride behind the compare-and-set that ends it (docs/runner.md, "Run state
 * design"): its last step's `step.completed` (or `step.failed` for good), then the terminal event,
 * fenced by the run's end fence, which only that write sets. A worker whose ending write lost (the
 * run was canceled by another process meanwhile) must leave nothing of them in the log: the
 * cancel's `flow.canceled` stays the run's last event.
 */
import { createMemoryStreamStore, NonRetriableError } from '@leanflow/core'
import { createRedisStreamStore } from '@leanflow/redis'
import { createMemoryQueue, createRunner, defineFlow, type Runner, type RunnerStore } from '@leanflow/runner'
import { afterEach, describe, expect, it } from 'vitest'
import { deferred, kindsOf, waitKind } from '../fixtures/runnerKit.js'
import { useRedisServer } from '../helpers/redisServer.js'

const server = useRedisServer()
let n = 0

/** Two stores over the same data, as two processes have (the memory store: one object, two runners' caches). */
const pairs: Array<[string, () => { worker: RunnerStore; other: RunnerStore; close: () => Promise<void> }]> = [
  [
    'the memory store',
    () => {
      const store = createMemoryStreamStore()
      return { worker: store, other: store, close: () => store.close() }
    },
  ],
  [
    'the Redis store',
    () => {
      const prefix = `endb${++n}`
      const worker = createRedisStreamStore({ url: server.url, prefix })
      const other = createRedisStreamStore({ url: server.url, prefix })
      return { worker, other, close: async () => void (await Promise.all([worker.close(), other.close()])) }
    },
  ],
]

describe.each(pairs)("a run's end on %s", (_label, make) => {
  const open: Array<() => Promise<void>> = []
  afterEach(async () => {
    for (const close of open.splice(0).reverse()) await close()
  })

  it.each(['completes', 'fails for good'] as const)(
    'a worker whose last step %s after another process canceled the run appends neither its step event nor the terminal event',
    async (how) => {
      const { worker, other, close } = make()
      open.push(close)
      const gate = deferred()
      const flow = defineFlow({
        name: 'gated',
        steps: {
          a: {
            handler: async () => {
              await gate.promise
              if (how === 'fails for good') throw new NonRetriableError('late')
              return 1
            },
          },
        },
      })
      const queue = createMemoryQueue()
      // the worker does not poll for the cancel while the step runs: its ending write is the first to see it
      const runner: Runner = createRunner({ store: worker, queue, flows: [flow], cancelPollMs: 60_000, onError: () => {} })
      const canceller = createRunner({ store: other, queue, flows: [flow], onError: () => {} })
      await runner.start()
      open.push(() => runner.stop())
      const { runId } = await canceller.startFlow('gated', {})
      await waitKind(worker, runId, 'step.started', 'a')
      await canceller.cancel(runId, 'elsewhere')
      gate.resolve()
      // the worker's ending write conflicts; its appends went out behind it and must have been refused
      await new Promise((r) => setTimeout(r, 200))
      const kinds = await kindsOf(worker, runId)
      expect(kinds.at(-1)).toBe('flow.canceled')
      expect(kinds).not.toContain('flow.completed')
      expect(kinds).not.toContain('flow.failed')
      expect(kinds).not.toContain('step.completed(a)')
      expect(kinds).not.toContain('step.failed(a)')
    },
  )
})
