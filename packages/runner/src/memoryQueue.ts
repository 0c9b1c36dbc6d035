import type { ActiveJob, JobHandler, JobQueue, JobSpec, JobWorker, ProcessOptions } from '@leanflow/core'
import { assertJobId, invalidArgument, jobDataJson, jobDelayMs, optionsObject, positiveInteger, redeliverAfterMs } from '@leanflow/core'

/** Options of {@link createMemoryQueue}. */
export interface MemoryQueueOptions {
  /** First re-delivery delay after a handler throws (ms); doubles per delivery. @default 100 */
  redeliverDelayMs?: number | undefined
  /** Cap of the re-delivery delay (ms). @default 5000 */
  maxRedeliverDelayMs?: number | undefined
  /**
   * Called when a handler throws (the job is then delivered again); none by default.
   * `createRunner` without a `queue` wires it to the runner's `onError`, hand-backs left out.
   */
  onError?: ((err: unknown, job: ActiveJob) => void) | undefined
}

const MAX_TIMER_MS = 2 ** 31 - 1

/** The queues {@link createMemoryQueue} made. */
const memoryQueues = new WeakSet<JobQueue>()

/**
 * Whether `queue` is one of {@link createMemoryQueue}'s: in this process only, so it dies with
 * the process (and every job in it), and its `enqueue` never refuses a job it can hold (it has no outage: only a bad id, delay or data).
 */
export function isMemoryQueue(queue: JobQueue): boolean {
  return memoryQueues.has(queue)
}

/** Whether a memory queue has a worker (a `process()` not closed), by queue. */
const served = new WeakMap<JobQueue, () => boolean>()

/** False for a memory queue no worker takes jobs from (no runner of this process was started on it); true for any other queue. */
export function isServed(queue: JobQueue): boolean {
  return served.get(queue)?.() ?? true
}

interface Entry {
  spec: Omit<JobSpec, 'data'>
  /** The job's data as BullMQ stores it: each delivery gets its own copy, as from Redis. */
  json: string
  deliveries: number
  state: 'delayed' | 'waiting' | 'active'
  dueAt: number
  timer?: ReturnType<typeof setTimeout>
  /** The consumer whose handler threw it last: its next delivery goes to another one when one is free. */
  thrownBy?: Consumer
}

interface Consumer {
  handler: JobHandler
  concurrency: number
  active: number
  closing: boolean
  idle: Array<() => void>
}

/**
 * The embedded {@link JobQueue}: jobs in memory, delays with timers (armed
 * only while a worker consumes), idempotent ids while a job is pending or
 * active, and at-least-once delivery: a throwing handler gets its job again
 * later, with backoff. Data is kept as JSON, as BullMQ keeps it (see
 * `jobDataJson`): each delivery gets a fresh copy, and data JSON cannot hold
 * (a `BigInt`, a cycle) is `INVALID_ARGUMENT` at `enqueue`. `close()` drains the workers; jobs not yet run stay
 * queued for the next `process()`.
 *
 * @example
 * ```ts
 * const queue = createMemoryQueue()
 * await queue.enqueue({ id: 'j1', name: 'hello', data: { to: 'you' }, delayMs: 100 })
 * const worker = await queue.process(async (job) => console.log(job.name), { concurrency: 4 })
 * await worker.close()
 * ```
 */
export function createMemoryQueue(options: MemoryQueueOptions = {}): JobQueue {
  optionsObject(options, 'createMemoryQueue options', '{ redeliverDelayMs?, maxRedeliverDelayMs?, onError? }', [
    'redeliverDelayMs',
    'maxRedeliverDelayMs',
    'onError',
  ] satisfies Array<keyof MemoryQueueOptions>)
  const baseDelay = positiveInteger(options.redeliverDelayMs ?? 100, 'redeliverDelayMs')
  const maxDelay = positiveInteger(options.maxRedeliverDelayMs ?? 5000, 'maxRedeliverDelayMs')
  if (options.onError !== undefined && typeof options.onError !== 'function')
    throw invalidArgument('createMemoryQueue onError', options.onError, 'a function (or leave it out)')
  const jobs = new Map<string, Entry>()
  const waiting: string[] = []
  const consumers = new Set<Consumer>()

  const live = () => [...consumers].some((c) => !c.closing)

  function arm(entry: Entry) {
    if (entry.state !== 'delayed' || entry.timer !== undefined || !live()) return
    entry.timer = setTimeout(
      () => {
        entry.timer = undefined
        if (jobs.get(entry.spec.id) !== entry || entry.state !== 'delayed') return
        if (entry.dueAt > Date.now()) return arm(entry) // past setTimeout's 24.8-day limit
        entry.state = 'waiting'
        waiting.push(entry.spec.id)
        pump()
      },
      Math.min(MAX_TIMER_MS, Math.max(0, entry.dueAt - Date.now())),
    )
  }

  function pump() {
    while (waiting.length > 0) {
      const entry = jobs.get(waiting[0] as string)
      if (entry?.state !== 'waiting') {
        waiting.shift()
        continue
      }
      // the first free consumer, but not the one that threw this job back while another is free
      // (a runner without a run's flow version hands its jobs back for a runner that has it)
      let free: Consumer | undefined
      for (const c of consumers) {
        if (c.closing || c.active >= c.concurrency) continue
        free ??= c
        if (c !== entry.thrownBy) {
          free = c
          break
        }
      }
      if (free === undefined) return
      waiting.shift()
      run(free, entry)
    }
  }

  function run(c: Consumer, entry: Entry) {
    entry.state = 'active'
    c.active += 1
    const job: ActiveJob = { ...entry.spec, data: JSON.parse(entry.json), deliveries: entry.deliveries }
    void Promise.resolve()
      .then(() => c.handler(job))
      .then(
        () => {
          if (jobs.get(entry.spec.id) === entry) jobs.delete(entry.spec.id)
        },
        (err: unknown) => {
          options.onError?.(err, job)
          entry.thrownBy = c
          entry.deliveries += 1
          entry.state = 'delayed'
          entry.dueAt = Date.now() + (redeliverAfterMs(err) ?? Math.min(maxDelay, baseDelay * 2 ** (entry.deliveries - 1)))
          arm(entry)
        },
      )
      .finally(() => {
        c.active -= 1
        if (c.active === 0) for (const f of c.idle.splice(0)) f()
        pump()
      })
  }

  async function closeConsumer(c: Consumer) {
    c.closing = true
    if (c.active > 0) await new Promise<void>((resolve) => c.idle.push(resolve))
    consumers.delete(c)
    if (!live()) {
      for (const e of jobs.values()) {
        if (e.timer !== undefined) clearTimeout(e.timer)
        e.timer = undefined
      }
    }
  }

  const queue: JobQueue = {
    async enqueue(spec: JobSpec) {
      assertJobId(spec.id)
      const delay = jobDelayMs(spec)
      const json = jobDataJson(spec)
      if (jobs.has(spec.id)) return
      const entry: Entry = {
        spec: { id: spec.id, name: spec.name, delayMs: spec.delayMs },
        json,
        deliveries: 0,
        state: delay > 0 ? 'delayed' : 'waiting',
        dueAt: Date.now() + delay,
      }
      jobs.set(spec.id, entry)
      if (entry.state === 'waiting') {
        waiting.push(spec.id)
        pump()
      } else arm(entry)
    },
    async remove(id: string) {
      assertJobId(id)
      const entry = jobs.get(id)
      if (!entry || entry.state === 'active') return
      if (entry.timer !== undefined) clearTimeout(entry.timer)
      jobs.delete(id)
    },
    async process(handler: JobHandler, opts: ProcessOptions = {}): Promise<JobWorker> {
      const c: Consumer = {
        handler,
        concurrency: positiveInteger(opts.concurrency ?? 10, 'memory queue concurrency'),
        active: 0,
        closing: false,
        idle: [],
      }
      consumers.add(c)
      for (const e of jobs.values()) arm(e)
      pump()
      return { close: () => closeConsumer(c) }
    },
    async close() {
      await Promise.all([...consumers].map(closeConsumer))
    },
  }
  memoryQueues.add(queue)
  served.set(queue, live)
  return queue
}
