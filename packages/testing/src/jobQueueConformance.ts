import type { ActiveJob, JobHandler, JobQueue, JobSpec, JobWorker } from '@leanflow/core'
import { afterEach, describe, expect, it } from 'vitest'
import { codeOf } from './internal/errorCode.js'
import { waitFor } from './internal/waitFor.js'

/** Makes a fresh, empty queue (its own prefix or queue name); the suite closes it after each test. */
export type JobQueueFactory = () => Promise<JobQueue>

/** A worker the suite can crash (see {@link JobQueueFaults}). */
export interface CrashableWorker {
  /** Resolves once this worker has taken the job `id` (its handler was called). */
  active(id: string): Promise<void>
  /** Ends the worker as a killed process ends: none of its jobs is finished, failed or renewed again. */
  crash(): Promise<void>
}

/** Faults the test file of a queue can inject into {@link describeJobQueueConformance}. */
export interface JobQueueFaults {
  /**
   * Starts another worker on the backend of `queue` (a queue `makeQueue` returned) that holds
   * every job it takes until it is crashed — for instance a worker in a child process, SIGKILLed
   * by `crash()`. Without it, re-delivery after a crash is not checked (the suite's title says so):
   * a queue that lives in its process (the memory queue) dies with it, jobs and all.
   */
  crashableWorker(queue: JobQueue): Promise<CrashableWorker>
}

/** Options of {@link describeJobQueueConformance}. */
export interface JobQueueConformanceOptions {
  /** Faults the test file can inject; a guarantee whose hook is missing is named in the suite's title as not checked. */
  faults?: JobQueueFaults | undefined
}

/** How long each case waits for the queue under test (longer than waitFor's 10 s default). */
const QUEUE_WAIT_MS = 15_000

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

/** A promise with its resolve function, for holding handlers open. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void
  const promise = new Promise<void>((r) => {
    open = r
  })
  return { promise, open }
}

/** Records every delivery (at handler entry) and completion. */
function recorder(inner?: (job: ActiveJob) => Promise<void>) {
  const started: ActiveJob[] = []
  const done: string[] = []
  const handler: JobHandler = async (job) => {
    started.push(job)
    await inner?.(job)
    done.push(job.id)
  }
  const count = (id: string) => started.filter((j) => j.id === id).length
  return { started, done, handler, count }
}

/**
 * The contract of the `JobQueue` port (`@leanflow/core`), run against every
 * implementation. `makeQueue` returns a fresh, empty queue each time (its own
 * prefix or queue name); the suite closes it after each test.
 *
 * Timing: delays are checked as lower bounds ("never early") with generous
 * upper bounds; "nothing else arrives" is checked by waiting for a marker job
 * due after everything that must not arrive (queues take jobs in order of the
 * time they are due), never by a sleep: a queue that is merely slow still has
 * to deliver the unwanted job before the marker.
 *
 * @example
 * ```ts
 * import { createMemoryQueue } from '@leanflow/runner'
 * import { describeJobQueueConformance } from '@leanflow/testing'
 *
 * describeJobQueueConformance('memory', async () => createMemoryQueue({ redeliverDelayMs: 20 }))
 * ```
 */
export function describeJobQueueConformance(label: string, makeQueue: JobQueueFactory, options: JobQueueConformanceOptions = {}): void {
  const { faults } = options
  const unchecked = faults?.crashableWorker ? '' : ' (re-delivery after a crash not checked: no faults.crashableWorker)'
  describe(`JobQueue conformance: ${label}${unchecked}`, () => {
    const open: JobQueue[] = []
    const make = async () => {
      const q = await makeQueue()
      open.push(q)
      return q
    }
    afterEach(async () => {
      await Promise.all(open.splice(0).map((q) => q.close()))
    })

    /**
     * Enqueues a marker due `delayMs` from now and waits until it ran: every job due before it
     * — a duplicate that should not exist, a removed job that should not run — was taken first,
     * and its handler called, by then (a worker calls the handler of a job it took at once).
     */
    const drain = async (q: JobQueue, rec: ReturnType<typeof recorder>, delayMs = 0) => {
      const marker = `marker-${Math.random()}`
      await q.enqueue({ id: marker, name: 'marker', data: null, delayMs })
      await waitFor(() => rec.done.includes(marker), `marker ${marker}`, QUEUE_WAIT_MS)
    }

    it('delivers enqueued jobs with their id, name and data, first delivery 0', async () => {
      const q = await make()
      const rec = recorder()
      await q.process(rec.handler)
      const jobs = [
        { id: 'a', name: 'step', data: { n: 1, nested: { s: 'x' } } },
        { id: 'b', name: 'other', data: [1, 2, 3] },
        { id: 'c', name: 'step', data: 'text' },
      ]
      for (const job of jobs) await q.enqueue(job)
      await waitFor(() => rec.done.length === 3, '3 jobs', QUEUE_WAIT_MS)
      const byId = Object.fromEntries(rec.started.map((j) => [j.id, j]))
      for (const job of jobs) {
        expect(byId[job.id]).toMatchObject({ id: job.id, name: job.name, data: job.data, deliveries: 0 })
      }
    })

    it('enqueue of a pending id is a no-op, sequential and concurrent', async () => {
      const q = await make()
      await q.enqueue({ id: 'dup', name: 'n', data: 1 })
      await q.enqueue({ id: 'dup', name: 'n', data: 2 })
      await Promise.all(Array.from({ length: 20 }, (_, i) => q.enqueue({ id: 'race', name: 'n', data: i })))
      const rec = recorder()
      await q.process(rec.handler, { concurrency: 4 })
      await waitFor(() => rec.done.includes('dup') && rec.done.includes('race'), 'dup and race', QUEUE_WAIT_MS)
      await drain(q, rec)
      expect(rec.count('dup')).toBe(1)
      expect(rec.count('race')).toBe(1)
      // The first enqueue wins.
      expect(rec.started.find((j) => j.id === 'dup')?.data).toBe(1)
    })

    it('enqueue of an active id is a no-op', async () => {
      const q = await make()
      const hold = gate()
      const rec = recorder(async (job) => {
        if (job.id === 'busy') await hold.promise
      })
      await q.process(rec.handler)
      await q.enqueue({ id: 'busy', name: 'n', data: null })
      await waitFor(() => rec.count('busy') === 1, 'busy active', QUEUE_WAIT_MS)
      await Promise.all([1, 2, 3].map(() => q.enqueue({ id: 'busy', name: 'n', data: null })))
      hold.open()
      await waitFor(() => rec.done.includes('busy'), 'busy done', QUEUE_WAIT_MS)
      await drain(q, rec)
      expect(rec.count('busy')).toBe(1)
    })

    it('an id can be enqueued again once its job finished', async () => {
      const q = await make()
      const rec = recorder()
      await q.process(rec.handler)
      await q.enqueue({ id: 'again', name: 'n', data: 1 })
      await waitFor(() => rec.done.length === 1, 'first run', QUEUE_WAIT_MS)
      await sleep(50) // let the queue record completion
      await q.enqueue({ id: 'again', name: 'n', data: 2 })
      await waitFor(() => rec.done.length === 2, 'second run', QUEUE_WAIT_MS)
      expect(rec.started.map((j) => [j.id, j.data, j.deliveries])).toEqual([
        ['again', 1, 0],
        ['again', 2, 0],
      ])
    })

    it('a delayed job never runs before its delay, and does not hold back others', async () => {
      const q = await make()
      const at = new Map<string, number>()
      const rec = recorder(async (job) => {
        at.set(job.id, Date.now())
      })
      await q.process(rec.handler)
      const t0 = Date.now()
      await q.enqueue({ id: 'later', name: 'n', data: null, delayMs: 400 })
      await q.enqueue({ id: 'now', name: 'n', data: null })
      await waitFor(() => rec.done.includes('later') && rec.done.includes('now'), 'both jobs', QUEUE_WAIT_MS)
      expect(rec.started.map((j) => j.id)).toEqual(['now', 'later'])
      const waited = (at.get('later') ?? 0) - t0
      expect(waited).toBeGreaterThanOrEqual(400)
      expect(waited).toBeLessThan(10_000) // generous: a shared 2-core machine
    })

    it('remove drops a delayed job; removing an absent id is a no-op', async () => {
      const q = await make()
      const rec = recorder()
      await q.process(rec.handler)
      await q.enqueue({ id: 'gone', name: 'n', data: null, delayMs: 300 })
      await q.remove('gone')
      await q.remove('never-existed')
      // the probe is due after 'gone' would have been: once it ran, 'gone' would have run before it
      await q.enqueue({ id: 'probe', name: 'n', data: null, delayMs: 600 })
      await waitFor(() => rec.done.includes('probe'), 'probe', QUEUE_WAIT_MS)
      expect(rec.count('gone')).toBe(0)
      // The id is free again after remove.
      await q.enqueue({ id: 'gone', name: 'n', data: 'back' })
      await waitFor(() => rec.done.includes('gone'), 'gone re-enqueued', QUEUE_WAIT_MS)
      expect(rec.started.find((j) => j.id === 'gone')?.data).toBe('back')
    })

    it('remove of an active job is a no-op: it finishes', async () => {
      const q = await make()
      const hold = gate()
      const rec = recorder(() => hold.promise)
      await q.process(rec.handler)
      await q.enqueue({ id: 'running', name: 'n', data: null })
      await waitFor(() => rec.started.length === 1, 'running active', QUEUE_WAIT_MS)
      await q.remove('running')
      hold.open()
      await waitFor(() => rec.done.includes('running'), 'running done', QUEUE_WAIT_MS)
    })

    it('respects the concurrency limit and uses it', async () => {
      const q = await make()
      const hold = gate()
      let inFlight = 0
      let max = 0
      const rec = recorder(async () => {
        inFlight++
        max = Math.max(max, inFlight)
        await hold.promise
        inFlight--
      })
      for (let i = 0; i < 12; i++) await q.enqueue({ id: `c${i}`, name: 'n', data: i })
      await q.process(rec.handler, { concurrency: 3 })
      await waitFor(() => inFlight === 3, '3 jobs in flight', QUEUE_WAIT_MS)
      await sleep(300)
      expect(inFlight).toBe(3)
      hold.open()
      await waitFor(() => rec.done.length === 12, 'all 12 jobs', QUEUE_WAIT_MS)
      expect(max).toBe(3)
    })

    it('re-delivers a job whose handler threw, counting deliveries', async () => {
      const q = await make()
      const rec = recorder(async (job) => {
        if (job.deliveries < 2) throw new Error(`boom ${job.deliveries}`)
      })
      await q.process(rec.handler)
      await q.enqueue({ id: 'flaky', name: 'n', data: { keep: true } })
      await waitFor(() => rec.done.includes('flaky'), 'flaky to succeed', 30_000)
      expect(rec.started.map((j) => [j.id, j.deliveries, j.data])).toEqual([
        ['flaky', 0, { keep: true }],
        ['flaky', 1, { keep: true }],
        ['flaky', 2, { keep: true }],
      ])
      await drain(q, rec)
      expect(rec.count('flaky')).toBe(3)
    })

    it('delivers a copy of the data as JSON holds it, each delivery afresh (as BullMQ stores it)', async () => {
      const q = await make()
      const seen: string[] = []
      const rec = recorder(async (job) => {
        seen.push(`${job.id}#${job.deliveries} ${JSON.stringify(job.data)} keys:${Object.keys(Object(job.data)).join(',')}`)
        if (job.id !== 'copy' || job.deliveries > 0) return
        ;(job.data as { n: number; list: number[] }).n = 99 // a handler's change is not in the next delivery
        ;(job.data as { n: number; list: number[] }).list.push(99)
        throw new Error('deliver it again')
      })
      const data = { n: 1, list: [1], at: new Date(0), gone: undefined, fn: () => 1, nan: Number.NaN }
      await q.enqueue({ id: 'copy', name: 'n', data })
      data.n = 2 // a change after enqueue is not delivered
      data.list.push(2)
      await q.enqueue({ id: 'undefined', name: 'n', data: undefined })
      await q.process(rec.handler)
      await waitFor(() => rec.done.includes('copy') && rec.done.includes('undefined'), 'copy and undefined', QUEUE_WAIT_MS)
      const copy = '{"n":1,"list":[1],"at":"1970-01-01T00:00:00.000Z","nan":null} keys:n,list,at,nan'
      expect(seen.sort()).toEqual([`copy#0 ${copy}`, `copy#1 ${copy}`, 'undefined#0 {} keys:'])
    })

    it('refuses data JSON cannot hold (a BigInt, a cycle) with INVALID_ARGUMENT, enqueueing nothing', async () => {
      const q = await make()
      const cycle: Record<string, unknown> = { a: 1 }
      cycle.self = cycle
      for (const data of [10n, { nested: [1n] }, cycle]) {
        expect(await codeOf(q.enqueue({ id: 'unstorable', name: 'n', data }))).toBe('INVALID_ARGUMENT')
      }
      const rec = recorder()
      await q.process(rec.handler)
      await drain(q, rec)
      expect(rec.count('unstorable')).toBe(0)
    })

    it('worker close waits for active jobs and takes no new ones; they stay queued', async () => {
      const q = await make()
      const hold = gate()
      const rec = recorder(async (job) => {
        if (job.id === 'slow') await hold.promise
      })
      const worker: JobWorker = await q.process(rec.handler)
      await q.enqueue({ id: 'slow', name: 'n', data: null })
      await waitFor(() => rec.started.length === 1, 'slow active', QUEUE_WAIT_MS)
      let closed = false
      let doneAtClose: string[] = []
      const closing = worker.close().then(() => {
        closed = true
        doneAtClose = [...rec.done]
      })
      await sleep(200)
      expect(closed).toBe(false)
      await q.enqueue({ id: 'after-close', name: 'n', data: null })
      await sleep(200)
      expect(closed).toBe(false)
      hold.open()
      await closing
      // close resolved only once the active job was done, however long it took
      expect(doneAtClose).toEqual(['slow'])
      expect(rec.done).toEqual(['slow'])
      expect(rec.count('after-close')).toBe(0)
      // The job enqueued during close is still there for the next worker.
      const rec2 = recorder()
      await q.process(rec2.handler)
      await waitFor(() => rec2.done.includes('after-close'), 'after-close on a new worker', QUEUE_WAIT_MS)
      await drain(q, rec2)
      expect(rec2.started.map((j) => j.id).filter((id) => !id.startsWith('marker'))).toEqual(['after-close'])
    })

    it('queue close drains every worker', async () => {
      const q = await make()
      const hold = gate()
      const rec = recorder(() => hold.promise)
      await q.process(rec.handler)
      await q.enqueue({ id: 'x', name: 'n', data: null })
      await waitFor(() => rec.started.length === 1, 'x active', QUEUE_WAIT_MS)
      let closed = false
      let doneAtClose: string[] = []
      const closing = q.close().then(() => {
        closed = true
        doneAtClose = [...rec.done]
      })
      await sleep(200)
      expect(closed).toBe(false)
      hold.open()
      await closing
      expect(doneAtClose).toEqual(['x'])
    })

    if (faults?.crashableWorker) {
      const crashable = faults.crashableWorker
      it('re-delivers the job of a worker that crashed mid-job (its process died) to another worker', async () => {
        const q = await make()
        const victim = await crashable(q)
        await q.enqueue({ id: 'crash-job', name: 'n', data: { holdMs: 600_000 } })
        await victim.active('crash-job')
        await victim.crash()
        const rec = recorder()
        await q.process(rec.handler)
        // a stalled job comes back once the dead worker's hold on it lapses (BullMQ: its lock)
        await waitFor(() => rec.done.includes('crash-job'), 'crash-job re-delivered', QUEUE_WAIT_MS)
        const again = rec.started.find((j) => j.id === 'crash-job')
        expect(again?.deliveries).toBeGreaterThanOrEqual(1)
        await drain(q, rec)
        expect(rec.count('crash-job')).toBe(1)
      })
    }

    it('accepts any id: colons, slashes, digits only, unicode, escape look-alikes', async () => {
      const q = await make()
      const ids = ['run:step:1', 'a/b/c', '12345', '0', '-7', '1e3', 'ünïcødé-步骤-🚀', 'a%3Ab', 'a:b', '{tag}', 'with space']
      for (const id of ids) await q.enqueue({ id, name: 'n', data: id })
      for (const id of ids) await q.enqueue({ id, name: 'n', data: 'duplicate' })
      const rec = recorder()
      await q.process(rec.handler)
      await waitFor(() => rec.done.length >= ids.length, 'all ids', QUEUE_WAIT_MS)
      await drain(q, rec)
      const got = rec.started.filter((j) => j.name === 'n')
      expect(got.map((j) => j.id).sort()).toEqual([...ids].sort())
      for (const job of got) expect(job.data).toBe(job.id)
      await q.enqueue({ id: '12345', name: 'n', data: 'delayed', delayMs: 200 })
      await q.remove('12345')
      await drain(q, rec, 400) // due after the removed job: it would have run first
      expect(rec.count('12345')).toBe(1)
    })

    it('refuses an id that is no non-empty string and a delayMs that is no finite number >= 0 with INVALID_ARGUMENT, enqueueing nothing', async () => {
      const q = await make()
      const bad: unknown[] = [
        { id: '', name: 'n', data: 'empty id' },
        { id: 5, name: 'n', data: 'number id' },
        { name: 'n', data: 'no id' },
        { id: 'nan', name: 'n', data: 'NaN', delayMs: Number.NaN },
        { id: 'negative', name: 'n', data: 'negative', delayMs: -5 },
        { id: 'infinite', name: 'n', data: 'Infinity', delayMs: Number.POSITIVE_INFINITY },
        { id: 'text', name: 'n', data: 'string delay', delayMs: '5' },
      ]
      for (const job of bad) expect(await codeOf(q.enqueue(job as JobSpec)), JSON.stringify(job)).toBe('INVALID_ARGUMENT')
      for (const id of ['', 5, undefined]) expect(await codeOf(q.remove(id as string)), `remove(${String(id)})`).toBe('INVALID_ARGUMENT')
      const rec = recorder()
      await q.process(rec.handler)
      await drain(q, rec)
      expect(rec.started.filter((j) => j.name === 'n').map((j) => j.data)).toEqual([])
    })
  })
}
