// 1,000 awaits of one step at once (design/composition.md, "Parallel awaits"), on the memory store
// and on a real redis-server: every await is announced once and resolves once, and registering
// them is a few compare-and-sets of the run's document, not one per await (the document grows
// with each await: a write per await made registering them super-linear). Each `ctx.await.trigger`
// was written on its own; and each published event matched the run against every kind it waited
// on (a read of each kind's events per publish: 1,000 events at once timed the Redis store out).
// And each of 1,000 timers due at once was its own job reading (and comparing) the run's whole
// document: the step resolved some 10 s after they were due on Redis, not at once.
import type { EventRecord } from '@leanflow/core'
import { defineFlow, type RunnerStore } from '@leanflow/runner'
import { expect, it, vi } from 'vitest'
import { describeOnStores } from '../fixtures/runnerOnStores.js'
import { waitFor } from '../helpers/waitFor.js'

const N = 1000
const range = (k: number) => Array.from({ length: k }, (_, i) => i)
/** The kind of await at position `i` of the `wide` step (positions follow call order). */
const kindAt = (i: number) => (['event', 'trigger', 'time'] as const)[i % 3]

const wide = defineFlow<{ n: number; kinds: 'mixed' | 'triggers' | 'timers' }>({
  name: 'wide',
  steps: {
    all: {
      handler: async (input, ctx) =>
        Promise.all(
          range(input.n).map(async (i) => {
            const kind = input.kinds === 'triggers' ? 'trigger' : input.kinds === 'timers' ? 'time' : kindAt(i)
            if (kind === 'trigger') return (await ctx.await.trigger<{ i: number }>({ type: `t${i}` })).wait()
            if (kind === 'time') return ctx.await.time('300ms').then(() => ({ i }))
            return ctx.await.event<{ i: number }>({ kind: `k${i}` }).then((e) => e.data)
          }),
        ),
    },
  },
})

const announced = async (store: RunnerStore, runId: string): Promise<EventRecord[]> =>
  (await store.read(runId, { limit: 100_000 })).filter((e) => e.kind.startsWith('step.await.'))
const version = async (store: RunnerStore, runId: string) => (await store.getRunState(runId))?.version ?? 0

describeOnStores({ flows: [wide], prefix: 'pa' }, (runner, store) => {
  it('1,000 awaits of mixed kinds at once each resolve exactly once, events published while they register too', async () => {
    const { runId } = await runner().startFlow(wide, { n: N, kinds: 'mixed' })
    const events = range(N).filter((i) => kindAt(i) === 'event')
    // half of the events while the awaits register (the race rules: each still resolves its await once)
    const early = Promise.all(events.filter((i) => i % 2 === 0).map((i) => runner().publishEvent({ kind: `k${i}`, data: { i } })))
    await waitFor(async () => (await announced(store(), runId)).length >= N, 'every await announced', 60_000)
    await early
    const triggers = (await announced(store(), runId)).filter((e) => e.kind === 'step.await.trigger')
    await Promise.all([
      ...events.filter((i) => i % 2 === 1).map((i) => runner().publishEvent({ kind: `k${i}`, data: { i } })),
      ...triggers.map((e) => {
        const { triggerId, position } = e.data as { triggerId: string; position: number }
        return runner().resolveTrigger(triggerId, { i: position })
      }),
    ])
    const result = (await runner().result(runId, { timeout: '120s' })) as { all: Array<{ i: number }> }
    expect(result.all).toEqual(range(N).map((i) => ({ i })))
    const log = await store().read(runId, { limit: 100_000 })
    const perPosition = (kind: string) => {
      const counts = new Map<number, number>()
      for (const e of log.filter((x) => x.kind.startsWith(kind))) {
        const p = (e.data as { position: number }).position
        counts.set(p, (counts.get(p) ?? 0) + 1)
      }
      return range(N).filter((p) => counts.get(p) !== 1)
    }
    // positions not announced exactly once, not resumed exactly once: none
    expect(perPosition('step.await.')).toEqual([])
    expect(perPosition('step.resumed')).toEqual([])
  }, 180_000)

  it('registering 1,000 triggers at once takes a few compare-and-sets of the run, not one each', async () => {
    const { runId } = await runner().startFlow(wide, { n: N, kinds: 'triggers' })
    const before = await version(store(), runId)
    await waitFor(async () => (await announced(store(), runId)).length >= N, 'every trigger announced', 60_000)
    // the suspend behind the last announcement
    await new Promise((r) => setTimeout(r, 300))
    const writes = (await version(store(), runId)) - before
    expect(writes).toBeLessThanOrEqual(20)
    await runner().cancel(runId)
  }, 120_000)

  it('1,000 timers of one step due at once resolve each exactly once in a few reads and writes of the run, not one each', async () => {
    const reads = vi.spyOn(store(), 'getRunState')
    const writes = vi.spyOn(store(), 'casRunState')
    try {
      const { runId } = await runner().startFlow(wide, { n: N, kinds: 'timers' })
      const result = (await runner().result(runId, { timeout: '60s' })) as { all: Array<{ i: number }> }
      expect(result.all).toEqual(range(N).map((i) => ({ i })))
      const log = await store().read(runId, { limit: 100_000 })
      const resumed = log.filter((e) => e.kind === 'step.resumed').map((e) => (e.data as { position: number }).position)
      expect(resumed.sort((a, b) => a - b)).toEqual(range(N))
      // the timers' jobs come together, in batches: a read and a write of the run's ~150 KB document per batch, not per job
      const ofRun = (calls: unknown[][]) => calls.filter((c) => c[0] === runId).length
      expect(ofRun(reads.mock.calls)).toBeLessThanOrEqual(100)
      expect(ofRun(writes.mock.calls)).toBeLessThanOrEqual(20)
    } finally {
      reads.mockRestore()
      writes.mockRestore()
    }
  }, 60_000)
})
