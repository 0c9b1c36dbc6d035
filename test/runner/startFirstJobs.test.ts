// A start is never half-written (docs/runner.md "Guarantees"), on a queue of the caller's own (a
// JobQueue that is not the memory queue, as BullMQ or a custom transport): the run's first jobs
// are queued before its run is written. Before, the run was written first: a queue that refused
// its jobs left it `running` with nothing queued, for good. A worker that takes a first job
// before the write landed (another runner: the producer's write is not its own) waits for it; a
// write the store refuses leaves no run and no step run.
import { createMemoryStreamStore, type JobQueue, LeanflowError, type MemoryStreamStore } from '@leanflow/core'
import { createMemoryQueue, createRunner, defineFlow, type Runner } from '@leanflow/runner'
import { afterEach, describe, expect, it } from 'vitest'
import { aroundMethod } from '../helpers/aroundMethod.js'
import { codeOf } from '../helpers/errorCode.js'

const runners: Runner[] = []
const stores: MemoryStreamStore[] = []
afterEach(async () => {
  for (const r of runners.splice(0)) await r.stop()
  for (const s of stores.splice(0)) await s.close()
})

/** Handlers run, by run and step. */
const ran: string[] = []
const step = (name: string, needs: string[] = []) => ({
  needs,
  handler: async (_i: unknown, ctx: { runId: string }) => {
    ran.push(`${ctx.runId}:${name}`)
    return name
  },
})
const diamond = defineFlow({ name: 'diamond', steps: { a: step('a'), d: step('d'), b: step('b', ['a', 'd']) } })

/** A queue of its own over a memory queue; `refuse` makes `enqueue` fail; `before` notes, per job, whether its run existed when it was queued. */
function ownQueue(store: MemoryStreamStore) {
  const inner = createMemoryQueue()
  const before = new Map<string, boolean>()
  const state = { refuse: undefined as Error | undefined, refuseName: undefined as string | undefined }
  const removed = new Set<string>()
  const queued = new Map<string, number>()
  /** Ids of the jobs a handler finished, in order (a job that gave up on its run included). */
  const finished: string[] = []
  const queue: JobQueue = {
    async enqueue(job) {
      if (state.refuse && (state.refuseName === undefined || state.refuseName === job.name)) throw state.refuse
      const runId = (job.data as { runId: string }).runId
      if (!before.has(job.id)) before.set(job.id, (await store.getRunState(runId)) !== null)
      queued.set(job.id, (queued.get(job.id) ?? 0) + 1)
      return inner.enqueue(job)
    },
    remove: (id) => {
      removed.add(id)
      return inner.remove(id)
    },
    process: (handler, opts) =>
      inner.process(async (job) => {
        await handler(job)
        finished.push(job.id)
      }, opts),
    close: () => inner.close(),
  }
  return { queue, before, state, removed, queued, finished }
}

const limited = defineFlow({
  name: 'limited',
  concurrency: { limit: 1 },
  steps: { s: { handler: async (i: { hold?: boolean }, ctx) => (i.hold ? ctx.await.time('1h') : ctx.runId) } },
})

function setup(onError: (err: unknown) => void = () => {}) {
  const store = createMemoryStreamStore()
  stores.push(store)
  const own = ownQueue(store)
  const runner = (start: boolean) => {
    const r = createRunner({ store, queue: own.queue, flows: [diamond, limited], onError })
    runners.push(r)
    return start ? r.start().then(() => r) : Promise.resolve(r)
  }
  return { store, own, runner }
}

describe('a start on a queue of its own', () => {
  it('queues its first jobs before it writes the run; each step runs once', async () => {
    const { own, runner } = setup()
    const r = await runner(true)
    const { runId } = await r.startFlow('diamond', {})
    expect(await r.result(runId, { timeout: '5s' })).toEqual({ b: 'b' })
    expect(own.before.get(`s~${runId}~a~1`)).toBe(false)
    expect(own.before.get(`s~${runId}~d~1`)).toBe(false)
    expect(ran.filter((e) => e.startsWith(`${runId}:`)).sort()).toEqual([`${runId}:a`, `${runId}:b`, `${runId}:d`])
  })

  it('a repeat of a keyed start whose run is written queues nothing new (an ended run: no job at all)', async () => {
    const { own, runner } = setup()
    const r = await runner(true)
    const { runId } = await r.startFlow('diamond', {}, { idempotencyKey: 'once' })
    expect(await r.result(runId, { timeout: '5s' })).toEqual({ b: 'b' })
    expect(await r.startFlow('diamond', {}, { idempotencyKey: 'once' })).toEqual({ runId })
    expect(own.queued.get(`s~${runId}~a~1`)).toBe(1)
    expect(own.queued.get(`s~${runId}~d~1`)).toBe(1)
    expect(ran.filter((e) => e.startsWith(`${runId}:`))).toHaveLength(3)
  })

  it('a producer and a worker runner (the worker takes first jobs before the write lands): every run completes, each step once', async () => {
    const { runner } = setup()
    const [producer] = [await runner(false), await runner(true)]
    const ids = await Promise.all(Array.from({ length: 30 }, () => producer!.startFlow('diamond', {}).then((s) => s.runId)))
    for (const id of ids) expect(await producer!.result(id, { timeout: '10s' })).toEqual({ b: 'b' })
    for (const id of ids) expect(ran.filter((e) => e.startsWith(`${id}:`))).toHaveLength(3)
  })

  it('a write that lands after the first jobs gave up on their run (a start paused > 10 s in between): the jobs are queued again, the run completes, each step once', async () => {
    const { store, own, runner } = setup()
    // the producer's own store object: its write in flight is not the worker's to wait for, so the worker reads for the run
    let release: () => void = () => {}
    const held = new Promise<void>((r) => {
      release = r
    })
    const slow = aroundMethod(store, 'createRun', (createRun, args) => held.then(() => createRun(...args)))
    const producer = createRunner({ store: slow, queue: own.queue, flows: [diamond], onError: () => {} })
    runners.push(producer)
    await runner(true)
    const starting = producer.startFlow('diamond', {})
    // both first jobs are taken, look for their run for the grace (10 s), and end with nothing done
    const deadline = Date.now() + 20_000
    while (own.finished.filter((id) => id.startsWith('s~')).length < 2 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100))
    const gaveUp = own.finished.filter((id) => id.startsWith('s~'))
    expect(gaveUp).toHaveLength(2)
    release()
    const { runId } = await starting
    expect(gaveUp.every((id) => id.includes(`~${runId}~`))).toBe(true)
    expect(await producer.result(runId, { timeout: '5s' })).toEqual({ b: 'b' })
    expect(ran.filter((e) => e.startsWith(`${runId}:`)).sort()).toEqual([`${runId}:a`, `${runId}:b`, `${runId}:d`])
  }, 30_000)

  it('a queue that refuses the first jobs refuses the start: its error, no run written', async () => {
    const { store, own, runner } = setup()
    const r = await runner(true)
    own.state.refuse = new LeanflowError('STORE_UNAVAILABLE', 'the queue is down')
    expect(await codeOf(r.startFlow('diamond', {}))).toBe('STORE_UNAVAILABLE')
    expect(await store.listRuns('diamond')).toEqual([])
    own.state.refuse = undefined
    const { runId } = await r.startFlow('diamond', {})
    expect(await r.result(runId, { timeout: '5s' })).toEqual({ b: 'b' })
  })

  it('a write the store refuses after the jobs were queued: the start rejects, its jobs are removed, no run, no step runs', async () => {
    const { store, own, runner } = setup()
    const refusing = aroundMethod(store, 'createRun', async () => Promise.reject(new LeanflowError('STORE_FULL', 'refused by the test')))
    const producer = createRunner({ store: refusing, queue: own.queue, flows: [diamond], onError: () => {} })
    runners.push(producer)
    const before = ran.length
    expect(await codeOf(producer.startFlow('diamond', {}))).toBe('STORE_FULL')
    expect(own.before.size).toBe(2) // both first jobs were queued, then removed
    await runner(true)
    await new Promise((r) => setTimeout(r, 100))
    expect(await store.listRuns('diamond')).toEqual([])
    expect(ran.length).toBe(before)
  })

  it('a run queued by flow control whose admit job the queue refuses after the write: the start answers the run (its begin job stays), onError hears it', async () => {
    const errors: unknown[] = []
    const { store, own, runner } = setup((err) => errors.push(err))
    const r = await runner(true)
    const holder = await r.startFlow('limited', { hold: true })
    own.state.refuse = new LeanflowError('STORE_UNAVAILABLE', 'the queue is down')
    own.state.refuseName = 'admit'
    const { runId } = await r.startFlow('limited', {})
    own.state.refuse = undefined
    expect((await store.getRunState(runId))?.doc).toMatchObject({ status: 'queued' })
    expect(errors).toEqual([expect.objectContaining({ code: 'STORE_UNAVAILABLE' })])
    // its begin job (queued before the write) stays for the start's outputs
    const begin = [...own.before.keys()].find((id) => id.startsWith(`b~${runId}~`))
    expect(begin).toBeDefined()
    expect(own.removed.has(begin as string)).toBe(false)
    await r.cancel(holder.runId)
    expect(await r.result(runId, { timeout: '5s' })).toEqual({ s: runId })
  })
})
