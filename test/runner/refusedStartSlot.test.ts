// A start under flow control that fails after the limits took it (the queue refuses its first
// job, or the store refuses the write): nothing is written, and what it took goes back at once —
// its slot (admitted) or its place in line (queued). Before, the slot stayed held until a queued
// run's periodic check found it (2 s and more later), and a place in line until the limits admitted
// it and its hand-off found no run (a second later). An admitted start whose write got no answer
// and never landed kept its slot until a queued run's sweep found it (seconds later, or never with
// no run queued): only queued starts had a `begin` job to look.
import { createMemoryStreamStore, type JobQueue, LeanflowError } from '@leanflow/core'
import { createRedisStreamStore } from '@leanflow/redis'
import { createMemoryQueue, createRunner, defineFlow, type RunnerStore } from '@leanflow/runner'
import { afterEach, describe, expect, it } from 'vitest'
import { deferred, logOf, waitEnd } from '../fixtures/runnerKit.js'
import { codeOf } from '../helpers/errorCode.js'
import { useRedisServer } from '../helpers/redisServer.js'
import { waitFor } from '../helpers/waitFor.js'

/**
 * The memory queue, refusing the enqueues `refuse` picks (not a memory queue to the runner: first
 * jobs go before the write); `early`: a `begin` job comes 50 ms after it is queued, not 5 s.
 */
function refusingQueue(refuse: (name: string) => boolean, early = false): { queue: JobQueue; close: () => Promise<void> } {
  const inner = createMemoryQueue()
  const queue: JobQueue = {
    ...inner,
    async enqueue(spec) {
      if (refuse(spec.name)) throw new LeanflowError('STORE_UNAVAILABLE', `enqueue of ${spec.id} refused (test)`)
      return inner.enqueue(spec.name === 'begin' && early ? { ...spec, delayMs: 50 } : spec)
    },
  }
  return { queue, close: () => inner.close() }
}

const redis = useRedisServer()
const stores: Array<[string, () => RunnerStore]> = [
  ['memory', () => createMemoryStreamStore()],
  ['redis-server', () => createRedisStreamStore({ url: redis.url, prefix: `refused${Math.random().toString(36).slice(2)}` })],
]

let close = async () => {}
afterEach(() => close())

describe.each(stores)('a refused start under flow control gives back what it took (%s)', (_name, makeStore) => {
  /** `lostWrite`: the write of that run (1: the first) gets no answer and never lands, and `begin` jobs come at once (not 5 s later). */
  async function setup(refuse: { next: string | undefined }, opts: { lostWrite?: number } = {}) {
    const inner = makeStore()
    let writes = 0
    const store: RunnerStore = !opts.lostWrite
      ? inner
      : Object.assign(Object.create(inner) as RunnerStore, {
          createRun: (...args: Parameters<RunnerStore['createRun']>) => {
            if (++writes === opts.lostWrite) return Promise.reject(new LeanflowError('STORE_UNAVAILABLE', 'no answer (test)'))
            return inner.createRun(...args)
          },
        })
    const q = refusingQueue((name) => {
      if (name !== refuse.next) return false
      refuse.next = undefined
      return true
    }, opts.lostWrite !== undefined)
    const gate = deferred()
    const flow = defineFlow({
      name: 'one',
      concurrency: { limit: 1 },
      steps: { a: { handler: async (input: { wait?: boolean }) => (input.wait ? gate.promise : undefined) } },
    })
    const runner = createRunner({ store, queue: q.queue, flows: [flow], onError: () => {} })
    await runner.start()
    close = async () => {
      gate.resolve()
      await runner.stop()
      await q.close()
      await inner.close()
    }
    return { runner, store: inner, gate }
  }

  it('admitted: the slot of a start whose first job the queue refused is free at once', async () => {
    const refuse = { next: 'step' as string | undefined }
    const { runner, store } = await setup(refuse)
    expect(await codeOf(runner.startFlow('one', {}))).toBe('STORE_UNAVAILABLE')
    const { runId } = await runner.startFlow('one', {})
    expect((await logOf(store, runId)).map((e) => e.kind)).not.toContain('flow.queued')
    expect((await waitEnd(store, runId, 1_500)).kind).toBe('flow.completed')
  })

  it('admitted, its write unanswered and never landed: a begin job gives its slot back', async () => {
    const refuse = { next: undefined as string | undefined }
    const { runner, store } = await setup(refuse, { lostWrite: 1 })
    // the write may still land (no answer): the start keeps its slot, and a begin job looks
    expect(await codeOf(runner.startFlow('one', {}))).toBe('STORE_UNAVAILABLE')
    await waitFor(async () => ((await runner.limits('one')).limits[0]?.active ?? 0) === 0, 'the slot given back', 1_000)
    const { runId } = await runner.startFlow('one', {})
    expect((await logOf(store, runId)).map((e) => e.kind)).not.toContain('flow.queued')
    expect((await waitEnd(store, runId, 1_500)).kind).toBe('flow.completed')
  })

  it('queued, its write unanswered and never landed: its begin job gives its place in line back', async () => {
    const refuse = { next: undefined as string | undefined }
    const { runner, store, gate } = await setup(refuse, { lostWrite: 2 })
    const first = await runner.startFlow('one', { wait: true })
    // the write may still land (no answer): the start keeps its place, and its begin job looks
    expect(await codeOf(runner.startFlow('one', {}))).toBe('STORE_UNAVAILABLE')
    await waitFor(async () => (await runner.limits('one')).limits[0]?.queued === 0, 'the place given back', 1_000)
    const third = await runner.startFlow('one', {})
    gate.resolve()
    expect((await waitEnd(store, first.runId, 1_500)).kind).toBe('flow.completed')
    await waitFor(async () => (await logOf(store, third.runId)).some((e) => e.kind === 'step.started'), 'third started', 500)
  })

  it('queued: the place in line of a start whose first job the queue refused is gone at once', async () => {
    const refuse = { next: undefined as string | undefined }
    const { runner, store, gate } = await setup(refuse)
    const first = await runner.startFlow('one', { wait: true })
    refuse.next = 'begin'
    expect(await codeOf(runner.startFlow('one', {}))).toBe('STORE_UNAVAILABLE')
    const third = await runner.startFlow('one', {})
    expect((await runner.limits('one')).limits).toEqual([{ scope: 'flow', kind: 'concurrency', key: '', active: 1, queued: 1 }])
    gate.resolve()
    expect((await waitEnd(store, first.runId, 1_500)).kind).toBe('flow.completed')
    // started by the first run's release, not a hand-off to the refused start that finds no run
    await waitFor(async () => (await logOf(store, third.runId)).some((e) => e.kind === 'step.started'), 'third started', 500)
  })
})
