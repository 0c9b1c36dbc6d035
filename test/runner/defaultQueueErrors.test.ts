// The default in-memory queue (createRunner without `queue`) reports a job's failure — an error of
// the job handling itself, not a step's error (that one is in the log) — to the runner's
// onError, once per delivery that failed; the hand-backs are no failures: stop() handing running
// steps back reports nothing, and a worker without a run's version reports once per version.
import { createMemoryStreamStore, isLeanflowError, LeanflowError } from '@leanflow/core'
import { createRunner, defineFlow, type RunnerStore } from '@leanflow/runner'
import { describe, expect, it } from 'vitest'
import { waitEnd, waitKind } from '../fixtures/runnerKit.js'
import { waitFor } from '../helpers/waitFor.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** The memory store, with the next `casRunState` calls failing as a store outage would. */
function flakyStore() {
  const store = createMemoryStreamStore()
  let failures = 0
  const injected: unknown[] = []
  const flaky = new Proxy(store, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target)
      if (typeof value !== 'function') return value
      if (prop === 'casRunState') {
        return (...args: unknown[]) => {
          if (failures > 0) {
            failures--
            const err = new LeanflowError('STORE_UNAVAILABLE', 'injected: the store did not answer in time')
            injected.push(err)
            return Promise.reject(err)
          }
          return value.apply(target, args)
        }
      }
      return value.bind(target)
    },
  }) as RunnerStore
  return { store: flaky, fail: (n: number) => (failures = n), injected, close: () => store.close() }
}

describe('the default memory queue and onError', () => {
  it('a job that fails (the store refused its claim) reaches onError, and is delivered again', async () => {
    const s = flakyStore()
    const errors: unknown[] = []
    const flow = defineFlow({ name: 'once', steps: { a: { handler: async () => 'done' } } })
    const runner = createRunner({ store: s.store, flows: [flow], onError: (e) => errors.push(e) })
    try {
      const { runId } = await runner.startFlow('once', {})
      s.fail(1)
      await runner.start()
      expect((await waitEnd(s.store, runId)).kind).toBe('flow.completed')
      expect(s.injected).toHaveLength(1)
      expect(errors).toEqual(s.injected)
    } finally {
      await runner.stop()
      await s.close()
    }
  })

  it('stop() handing running steps back to the queue reports nothing', async () => {
    const store = createMemoryStreamStore()
    const errors: unknown[] = []
    const hold = new Promise<never>(() => {})
    const flow = defineFlow({
      name: 'stuck',
      // ignores ctx.signal: only the drain timeout ends it
      steps: { a: { retry: { attempts: 1 }, handler: async () => hold } },
    })
    const runner = createRunner({ store, flows: [flow], drainTimeoutMs: 50, onError: (e) => errors.push(e) })
    await runner.start()
    const runs = await Promise.all([1, 2, 3].map(() => runner.startFlow('stuck', {})))
    for (const { runId } of runs) await waitKind(store, runId, 'step.started', 'a')
    await runner.stop()
    await sleep(300)
    expect(errors).toEqual([])
    // handed back, not failed: the runs are still running
    for (const { runId } of runs) expect((await store.listRuns('stuck')).find((r) => r.runId === runId)?.status).toBe('running')
    await store.close()
  })

  it('a worker without a run version hands its job back at every delivery, reported once per version', async () => {
    const store = createMemoryStreamStore()
    const order = (version: number) =>
      defineFlow({
        name: 'order',
        version,
        steps: {
          charge: {
            handler: async (_input: unknown, ctx) => {
              await ctx.await.event({ kind: 'go' })
              return version
            },
          },
        },
      })
    const v1 = createRunner({ store, flows: [order(1)], onError: () => {} })
    await v1.start()
    const { runId } = await v1.startFlow('order', {})
    await waitKind(store, runId, 'step.await.event', 'charge')
    await v1.stop()
    const errors: unknown[] = []
    const v2 = createRunner({ store, flows: [order(2)], onError: (e) => errors.push(e) })
    await v2.start()
    try {
      // the resume job goes to v2's own queue: v2 hands it back (100 ms, 200 ms, 400 ms, … later again)
      await v2.publishEvent({ kind: 'go' })
      await waitFor(() => errors.length > 0, 'the hand-back reported')
      await sleep(800)
      expect(errors).toHaveLength(1)
      expect(isLeanflowError(errors[0], 'FLOW_NOT_FOUND')).toBe(true)
    } finally {
      await v2.stop()
      await store.close()
    }
  })
})
