// A ctx.do more than 250 ms after its execution last knew its lease reads the run first (a
// stalled worker must not run an effect the take-over recorded: test/faults/bullmq.lease.test.ts).
// A store that does not answer that read for a while (a restart, a failover) is waited out as a
// record's write is: the attempt goes on, and the effect runs once. Before, the blip failed the
// attempt (and a run with one attempt, as payments often have). An answer that comes back later
// than 250 ms (the worker stalled while it waited) is asked again: here another lease took the
// step meanwhile (written as a take-over writes it), and the function does not run.
import { createMemoryStreamStore, LeanflowError } from '@leanflow/core'
import { createRunner, defineFlow } from '@leanflow/runner'
import { afterEach, expect, it } from 'vitest'
import { aroundMethod } from '../helpers/aroundMethod.js'
import { waitFor } from '../helpers/waitFor.js'

const stores: Array<{ close(): Promise<void> }> = []
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close()
})

it('a blip at the lease read of a ctx.do is waited out: the one attempt goes on and the effect runs once', async () => {
  const store = createMemoryStreamStore()
  stores.push(store)
  let failNext = 0
  let refused = 0
  const flaky = aroundMethod(store, 'getRunState', (getRunState, args) => {
    if (failNext > 0) {
      failNext--
      refused++
      return Promise.reject(new LeanflowError('STORE_UNAVAILABLE', 'Redis is not reached (injected)'))
    }
    return getRunState(...args)
  })
  const effects: string[] = []
  const flow = defineFlow({
    name: 'charge',
    steps: {
      s: {
        retry: { attempts: 1 },
        handler: async (_input, ctx) => {
          await new Promise((r) => setTimeout(r, 400)) // past the lease's 250 ms: the next ctx.do reads the run
          failNext = 3
          await ctx.do('a', async () => void effects.push(`a${ctx.attempt}`))
          await ctx.do('b', async () => void effects.push(`b${ctx.attempt}`))
          return 'ok'
        },
      },
    },
  })
  const runner = createRunner({ store: flaky, flows: [flow], cancelPollMs: 60_000, onError: () => {} })
  await runner.start()
  try {
    const { runId } = await runner.startFlow(flow, {})
    expect(await runner.result(runId, { timeout: '10s' })).toEqual({ s: 'ok' })
    expect(effects).toEqual(['a1', 'b1'])
    expect(refused).toBe(3)
  } finally {
    await runner.stop()
  }
})

it('a lease read answered late is asked again: a take-over meanwhile stops the ctx.do before its function runs', async () => {
  const store = createMemoryStreamStore()
  stores.push(store)
  let late: string | undefined
  let reads = 0
  const slow = aroundMethod(store, 'getRunState', async (_getRunState, args) => {
    const runId = args[0] as string
    const rec = await store.getRunState<{ steps: Record<string, { lease?: string }> }>(runId)
    if (late !== runId || !rec) return rec
    late = undefined
    reads++
    // the answer says the lease is this execution's; meanwhile (400 ms, as a stalled worker
    // handles it) another worker takes the step over
    const taken = structuredClone(rec.doc)
    const s = taken.steps.s
    if (s) s.lease = 'the-take-over'
    await store.casRunState(runId, rec.version, taken)
    await new Promise((r) => setTimeout(r, 400))
    return rec
  })
  const effects: string[] = []
  const gone: unknown[] = []
  const flow = defineFlow({
    name: 'charge',
    steps: {
      s: {
        handler: async (_input, ctx) => {
          await new Promise((r) => setTimeout(r, 400))
          late = ctx.runId
          try {
            await ctx.do('a', async () => void effects.push('a'))
          } catch (err) {
            gone.push(err)
            throw err
          }
        },
      },
    },
  })
  const runner = createRunner({ store: slow, flows: [flow], cancelPollMs: 60_000, onError: () => {} })
  await runner.start()
  try {
    await runner.startFlow(flow, {})
    await waitFor(() => gone.length > 0, 'the ctx.do stopped')
    expect(reads).toBe(1)
    expect(effects).toEqual([])
    expect(String(gone[0])).toMatch(/lease/i)
  } finally {
    await runner.stop()
  }
})
