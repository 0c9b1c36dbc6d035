// A step whose handler returns (or throws) while awaits it started are still registering completes
// (or fails) with that outcome: its pending awaits are closed, as a race's losers are
// (design/composition.md), and never suspend the step. On a store whose writes are slower than
// its clock (a pooled SQL store such as examples/postgres-store: its compare-and-sets and appends
// go out on several connections at once), the awaits finished registering while the step's
// completion was in flight, the step suspended on them and the handler's outcome was dropped:
// the run waited for the awaits (an hour here; for ever on an event without a timeout).
import { createMemoryStreamStore } from '@leanflow/core'
import { createRunner, defineFlow, type Runner, type RunnerStore } from '@leanflow/runner'
import { afterEach, describe, expect, it } from 'vitest'
import { kindsOf } from '../fixtures/runnerKit.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** The memory store, every call but the clock answered 15 ms late (as over a network). */
function slowStore() {
  const store = createMemoryStreamStore()
  const slow = new Proxy(store, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target)
      if (typeof value !== 'function') return value
      if (prop === 'now' || prop === 'follow' || prop === 'close') return value.bind(target)
      return async (...args: unknown[]) => {
        await sleep(15)
        return value.apply(target, args)
      }
    },
  }) as RunnerStore
  return { store: slow, close: () => store.close() }
}

const runners: Runner[] = []
const stores: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const r of runners.splice(0)) await r.stop()
  for (const close of stores.splice(0)) await close()
})

describe('a handler that settles while its awaits register', () => {
  const flow = defineFlow({
    name: 'settles',
    steps: {
      s: {
        retry: { attempts: 1 },
        handler: async (input: { how: string }, ctx) => {
          if (input.how === 'returns') {
            // started, never waited on: the handler's value is the step's result
            void Promise.all([ctx.await.time('1h'), ctx.await.event({ kind: 'never' })]).catch(() => {})
            return 'returned'
          }
          if (input.how === 'throws') {
            void ctx.await.time('1h').catch(() => {})
            throw new Error('thrown')
          }
          // more awaits than maxPendingAwaits: the last is refused at once, the handler catches it
          try {
            await Promise.all(Array.from({ length: 4 }, () => ctx.await.time('1h')))
            return 'all waited'
          } catch (err) {
            return (err as { code?: string }).code
          }
        },
      },
    },
  })

  for (const [how, outcome] of [
    ['returns', { result: { s: 'returned' } }],
    ['throws', { error: 'RUN_FAILED', message: expect.stringContaining('thrown') }],
    ['catches a refused await', { result: { s: 'INVALID_ARGUMENT' } }],
  ] as const) {
    it(`${how}: the step ends with the handler's outcome, not suspended on its awaits`, async () => {
      // a fresh runner and store each time: the first run of a runner is where the race showed
      const { store, close } = slowStore()
      stores.push(close)
      const runner = createRunner({ store, flows: [flow], maxPendingAwaits: 3, onError: () => {} })
      runners.push(runner)
      await runner.start()
      const { runId } = await runner.startFlow('settles', { how })
      const ended = await runner.result(runId, { timeout: '5s' }).then(
        (result) => ({ result }),
        (err: Error & { code?: string }) => ({ error: err.code, message: err.message }),
      )
      expect(ended, (await kindsOf(store, runId)).join(', ')).toEqual(outcome)
      const kinds = await kindsOf(store, runId)
      expect(kinds.filter((k) => k.startsWith('step.resumed'))).toEqual([])
      expect(kinds.at(-1)).toBe(how === 'throws' ? 'flow.failed' : 'flow.completed')
    })
  }
})
