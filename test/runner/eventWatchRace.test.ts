// `ctx.await.event` never loses an event (DESIGN.md: it resolves to the first event of its kind
// published after the run started that fits its match). A run stops watching a kind once no await
// of it is written; a new await of that kind may be on its way meanwhile (the same step looping,
// a parallel await, another step), and an event published then must still reach it. Also: an
// await that times out must not stop the run watching a kind another pending await waits on.
// A lost event never resolves its await: the results' timeouts only bound a loaded machine's wait.
import { defineFlow, type RunnerStore } from '@leanflow/runner'
import { expect, it } from 'vitest'
import { describeOnStores } from '../fixtures/runnerOnStores.js'
import { waitFor } from '../helpers/waitFor.js'

const LOOPS = 6
const RUNS = 12
const range = (k: number) => Array.from({ length: k }, (_, i) => i)
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Each round: one await of `wr.k`, then two at once (Promise.all); and a second step awaiting the same kind meanwhile. */
const looping = defineFlow<{ id: string }>({
  name: 'wr-loop',
  steps: {
    a: {
      handler: async (input, ctx) => {
        const got: number[] = []
        for (let i = 0; i < LOOPS; i++) {
          const one = await ctx.await.event<{ n: number }>({ kind: 'wr.k', match: { 'data.id': input.id, 'data.n': 3 * i } })
          const [x, y] = await Promise.all([
            ctx.await.event<{ n: number }>({ kind: 'wr.k', match: { 'data.id': input.id, 'data.n': 3 * i + 1 } }),
            ctx.await.event<{ n: number }>({ kind: 'wr.k', match: { 'data.id': input.id, 'data.n': 3 * i + 2 } }),
          ])
          got.push(one.data.n, x.data.n, y.data.n)
        }
        return got
      },
    },
    b: {
      handler: async (input, ctx) => {
        const got: number[] = []
        for (let i = 0; i < LOOPS; i++)
          got.push((await ctx.await.event<{ n: number }>({ kind: 'wr.k', match: { 'data.id': input.id, 'data.n': 100 + i } })).data.n)
        return got
      },
    },
  },
})

/** Two awaits of one kind at once: the first times out, the second must still get its event. */
const timingOut = defineFlow<{ id: string }>({
  name: 'wr-timeout',
  steps: {
    both: {
      handler: async (input, ctx) =>
        Promise.all([
          ctx.await.event({ kind: 'wr.t', match: { 'data.id': input.id, 'data.n': 1 }, timeout: '50ms' }).then(
            () => 'matched',
            () => 'timed out',
          ),
          ctx.await.event<{ n: number }>({ kind: 'wr.t', match: { 'data.id': input.id, 'data.n': 2 } }).then((e) => e.data.n),
        ]),
    },
  },
})

/** Two awaits of one kind in a row. */
const twice = defineFlow<{ id: string }>({
  name: 'wr-twice',
  steps: {
    a: {
      handler: async (input, ctx) => {
        const first = await ctx.await.event<{ n: number }>({ kind: 'wr.2', match: { 'data.id': input.id, 'data.n': 1 } })
        const second = await ctx.await.event<{ n: number }>({ kind: 'wr.2', match: { 'data.id': input.id, 'data.n': 2 } })
        return [first.data.n, second.data.n]
      },
    },
  },
})

/** How many events of `kind` the run's log holds. */
const eventsOf = async (store: RunnerStore, runId: string, kind: string) =>
  (await store.read(runId, { limit: 1000 })).filter((e) => e.kind === kind).length

describeOnStores({ flows: [looping, timingOut, twice], prefix: 'wr' }, (runner, store) => {
  it('every await of a looping step, of parallel awaits and of another step gets its event, with publishes racing each registration', async () => {
    const runs = await Promise.all(range(RUNS).map((r) => runner().startFlow(looping, { id: `r${r}` })))
    // each run's events in order, each a few ms after the one before: they race the awaits' registrations
    await Promise.all(
      runs.map(async (_, r) => {
        for (const n of [...range(3 * LOOPS)].flatMap((i) => (i < LOOPS ? [i, 100 + i] : [i]))) {
          await sleep(Math.random() * 4)
          await runner().publishEvent({ kind: 'wr.k', data: { id: `r${r}`, n } })
        }
      }),
    )
    const results = await Promise.all(runs.map(({ runId }) => runner().result(runId, { timeout: '30s' })))
    for (const res of results) expect(res).toEqual({ a: range(3 * LOOPS), b: range(LOOPS).map((i) => 100 + i) })
    // each await resumed its step once
    for (const { runId } of runs) expect(await eventsOf(store(), runId, 'step.resumed')).toBe(4 * LOOPS)
  }, 60_000)

  it('an await that times out leaves the run watching a kind another pending await waits on', async () => {
    const { runId } = await runner().startFlow(timingOut, { id: 't' })
    await waitFor(async () => (await eventsOf(store(), runId, 'step.await.timeout')) === 1, 'the first await to time out')
    await sleep(100) // what follows the timeout is carried out
    await runner().publishEvent({ kind: 'wr.t', data: { id: 't', n: 2 } })
    expect(await runner().result(runId, { timeout: '15s' })).toEqual({ both: ['timed out', 2] })
  }, 30_000)

  it('an await registered while the run stops watching its kind (a slow unwatch reply) still gets its event', async () => {
    const s = store()
    const unwatch = s.unwatchKind
    // the reply of each unwatch comes late: the step's next await of the kind is written meanwhile
    s.unwatchKind = async (kind, runId) => {
      await sleep(150)
      return unwatch.call(s, kind, runId)
    }
    try {
      const { runId } = await runner().startFlow(twice, { id: 'u' })
      await waitFor(async () => (await eventsOf(s, runId, 'step.await.event')) === 1, 'the first await')
      await runner().publishEvent({ kind: 'wr.2', data: { id: 'u', n: 1 } })
      await waitFor(async () => (await eventsOf(s, runId, 'step.await.event')) === 2, 'the second await')
      await sleep(300) // the late unwatch has landed
      await runner().publishEvent({ kind: 'wr.2', data: { id: 'u', n: 2 } })
      expect(await runner().result(runId, { timeout: '15s' })).toEqual({ a: [1, 2] })
    } finally {
      s.unwatchKind = unwatch
    }
  }, 30_000)
})
