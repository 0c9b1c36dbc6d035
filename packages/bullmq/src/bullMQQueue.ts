import type { ActiveJob, JobHandler, JobQueue, JobSpec, JobWorker, ProcessOptions } from '@leanflow/core'
import {
  assertJobId,
  assertKnownKeys,
  invalidArgument,
  jobDataJson,
  jobDelayMs,
  LeanflowError,
  positiveInteger,
  redactUrl,
  redeliverAfterMs,
  toStoreError,
} from '@leanflow/core'
import { type Job, Queue, Worker } from 'bullmq'
import type { Cluster, Redis } from 'ioredis'
import { closeProducer, closeWorker, runningJobs } from './internal/closing.js'
import { refuseClusterNode } from './internal/clusterNode.js'
import { databaseCheck } from './internal/databaseCheck.js'
import { decodeJobId, encodeJobId } from './internal/jobIds.js'
import { serverClock } from './internal/serverClock.js'

/** Options of {@link createBullMQQueue}: give `url` or `connection`. */
export interface BullMQQueueOptions {
  /** Redis URL (`redis://host:6379/0`); BullMQ opens and closes its own connections. */
  url?: string | undefined
  /**
   * An ioredis `Redis` or `Cluster` to share. Producers use it as is; each
   * worker uses a duplicate with `maxRetriesPerRequest: null` (BullMQ needs
   * it for blocking commands), closed with the worker. The caller closes it.
   */
  connection?: Redis | Cluster | undefined
  /**
   * BullMQ key prefix. On Redis Cluster it must hold a hash tag (`'{lfq}'`) so
   * a queue's keys share a slot; others are refused, as is ''.
   * @default 'lfq' ('{lfq}' on a Cluster connection)
   */
  prefix?: string | undefined
  /** BullMQ queue name: producers and workers of one app share it. @default 'leanflow' */
  queueName?: string | undefined
  /**
   * How long a worker's lock on a job lasts (it renews it every half of
   * this while the job runs). A worker that dies holds its jobs for at most
   * this long before the stalled check hands them to another worker.
   * @default 30_000
   */
  lockDuration?: number | undefined
  /** How often each worker looks for jobs whose lock expired (stalled) and re-queues them. @default 30_000 */
  stalledInterval?: number | undefined
  /**
   * Re-delivery after a handler throws: exponential from `delayMs`, capped
   * at `maxDelayMs`, ±20% jitter, unlimited deliveries.
   * @default { delayMs: 1000, maxDelayMs: 30_000 }
   */
  backoff?: { delayMs?: number | undefined; maxDelayMs?: number | undefined } | undefined
  /** Connection and worker errors (BullMQ keeps retrying). @default console.error */
  onError?: ((err: Error) => void) | undefined
  /**
   * How long `enqueue` and `remove` wait for Redis before they fail with `STORE_UNAVAILABLE`
   * (BullMQ itself would wait through its reconnects, for minutes). The job may still be added
   * once Redis answers: `enqueue` is idempotent by id, so retry it with the same id. Also how
   * long a worker's `close()` waits for Redis once its running jobs ended, and the queue's
   * `close()` for its producer connection, before they drop their connections (Redis down or
   * shut down; a command still queued then fails).
   * @default 5000
   */
  commandTimeout?: number | undefined
}

/** BullMQ's `attempts` and `maxStalledCount`: a job is never dropped as failed. */
const UNLIMITED = 2 ** 31 - 1
/** Stack traces a job's hash keeps (its latest deliveries' errors), as BullMQ's `stackTraceLimit`. */
const STACK_TRACES = 3
const BACKOFF_TYPE = 'leanflow'

/** Every option of {@link createBullMQQueue}: another (a misspelt `queuename`) is refused. */
const BULLMQ_KEYS = [
  'url',
  'connection',
  'prefix',
  'queueName',
  'lockDuration',
  'stalledInterval',
  'backoff',
  'onError',
  'commandTimeout',
] satisfies Array<keyof BullMQQueueOptions>

/**
 * The {@link JobQueue} port on BullMQ: producers (HTTP servers that start
 * runs and resolve triggers) and workers (processes that execute steps) can
 * be separate processes on separate machines sharing one Redis.
 *
 * - `enqueue` is idempotent by id while the job waits, is delayed or is
 *   active; finished jobs are removed at once (`removeOnComplete`), so the
 *   same id can be enqueued again after it ran.
 * - A handler throw re-delivers the job later (capped exponential backoff,
 *   unlimited deliveries); `ActiveJob.deliveries` counts earlier deliveries,
 *   including ones lost to a crashed worker.
 * - A worker that dies (SIGKILL, lost network) loses its lock after
 *   `lockDuration`; another worker's stalled check (every `stalledInterval`)
 *   puts the job back in the queue.
 * - `JobWorker.close()` stops taking jobs and waits for the running ones, then for Redis at
 *   most `commandTimeout` (Redis gone or shut down): past that it drops its connections, tells
 *   `onError`, and a job whose end Redis did not record goes back at the next stalled check.
 * - Errors are LeanflowErrors: `enqueue` and `remove` fail with `STORE_UNAVAILABLE`
 *   when Redis gives no answer within `commandTimeout`, `STORE_FULL` when it refuses
 *   writes (`maxmemory`); the driver's error is the `cause`. Retry with the same id. Every
 *   call after the queue's `close()` fails with `STORE_UNAVAILABLE` saying it is closed.
 *
 * @example
 * ```ts
 * import { createBullMQQueue } from '@leanflow/bullmq'
 * import { createRedisStreamStore } from '@leanflow/redis'
 * import { createRunner } from '@leanflow/runner'
 *
 * const queue = createBullMQQueue({ url: process.env.REDIS_URL })
 * const store = createRedisStreamStore({ url: process.env.REDIS_URL })
 * const runner = createRunner({ store, queue, flows: [orderFlow] })
 * await runner.start()
 * process.on('SIGTERM', () => runner.stop())
 * ```
 */
export function createBullMQQueue(options: BullMQQueueOptions = {}): JobQueue {
  const opts = options ?? {} // null: refused below for want of url or connection, by the same message
  if (typeof opts === 'object') assertKnownKeys(opts, BULLMQ_KEYS, 'createBullMQQueue')
  if ((opts.url === undefined) === (opts.connection === undefined)) {
    throw new LeanflowError(
      'INVALID_ARGUMENT',
      'createBullMQQueue needs exactly one of `url` (a redis:// URL) or `connection` (an ioredis client).',
    )
  }
  // BullMQ reads an empty url as none and goes to localhost:6379 (an unset REDIS_URL made '')
  if (opts.url !== undefined && (typeof opts.url !== 'string' || opts.url === '')) {
    throw invalidArgument('url', opts.url, 'a redis:// URL such as "redis://127.0.0.1:6379"')
  }
  const onCluster = isCluster(opts.connection)
  const prefix = opts.prefix ?? (onCluster ? '{lfq}' : 'lfq')
  // an empty prefix gives keys that start with ':' (and some BullMQ classes read it as their default, 'bull')
  if (typeof prefix !== 'string' || prefix === '') throw invalidArgument('prefix', prefix, "a non-empty string such as 'lfq'")
  if (onCluster && hashTag(prefix) === undefined) {
    throw new LeanflowError(
      'INVALID_ARGUMENT',
      `prefix "${prefix}" has no hash tag: on Redis Cluster a queue's keys must share a slot, and Redis hashes only what lies between a key's first "{" and the next "}", when that is not empty; use a prefix like "{lfq}".`,
    )
  }
  const queueName = opts.queueName ?? 'leanflow'
  // BullMQ's own rule, checked here so that a bad name is INVALID_ARGUMENT, never BullMQ's raw Error
  if (typeof queueName !== 'string' || queueName === '' || queueName.includes(':')) {
    throw invalidArgument('queueName', queueName, "a non-empty name without ':' (BullMQ refuses it), such as 'leanflow'")
  }
  const lockDuration = positive(opts.lockDuration, 30_000, 'lockDuration')
  const stalledInterval = positive(opts.stalledInterval, 30_000, 'stalledInterval')
  const baseDelay = positive(opts.backoff?.delayMs, 1000, 'backoff.delayMs')
  const maxDelay = positive(opts.backoff?.maxDelayMs, 30_000, 'backoff.maxDelayMs')
  const commandTimeout = positive(opts.commandTimeout, 5000, 'commandTimeout')
  const onError = opts.onError ?? ((err: Error) => console.error(`[leanflow/bullmq] ${err.message}`))

  // a url's database index, checked once before the first command (BullMQ alone would go on in database 0)
  let database = opts.url === undefined ? undefined : databaseCheck(opts.url)
  /** The database check before a command, until it passed once (then no await at all). */
  const checkDatabase = async (operation: string) => {
    if (!database) return
    await bounded(database(), commandTimeout, operation)
    database = undefined
  }
  const newProducer = () => {
    const q = new Queue(queueName, { connection: opts.connection ?? { url: opts.url }, prefix })
    q.on('error', onError)
    return q
  }
  // with a database to check, made once it passed: BullMQ writes the queue's meta as it connects
  let made: Queue | undefined = database ? undefined : newProducer()
  const producer = (): Queue => {
    made ??= newProducer()
    return made
  }
  // a delayed job is dated by the server's clock, not this process's (F19)
  const serverNow = serverClock(async () => redisTime(await producer().getBackend().client))
  const workers = new Set<JobWorker>()
  let closed: Promise<void> | undefined

  const assertOpen = () => {
    if (closed) throw closedError(queueName)
  }

  return {
    async enqueue(job: JobSpec) {
      assertOpen()
      assertJobId(job.id)
      if (database) await checkDatabase(`enqueue(${JSON.stringify(job.id)})`)
      const delayMs = jobDelayMs(job)
      const delay = delayMs > 0 ? Math.ceil(delayMs) : undefined
      const operation = `enqueue(${JSON.stringify(job.id)})`
      const timestamp = delay === undefined ? undefined : await bounded(serverNow(), commandTimeout, operation)
      const added = producer()
        .add(job.name, job.data, {
          jobId: encodeJobId(job.id),
          delay,
          timestamp,
          attempts: UNLIMITED,
          // a job handed back (a version no worker holds yet) or failing again and again keeps its
          // last few traces, not one per delivery (the job's hash grew ~1.7 KB a delivery, for days)
          stackTraceLimit: STACK_TRACES,
          backoff: { type: BACKOFF_TYPE, delay: baseDelay },
          removeOnComplete: true,
          removeOnFail: true,
        })
        // BullMQ serializes the data before any command: what JSON cannot hold (a BigInt, a cycle) is
        // its raw TypeError, turned into the memory queue's INVALID_ARGUMENT (no second serialization)
        .catch((err: unknown) => {
          if (err instanceof TypeError) jobDataJson(job)
          throw err
        })
      await bounded(added, commandTimeout, operation)
    },

    async remove(id: string) {
      assertOpen()
      assertJobId(id)
      if (database) await checkDatabase(`remove(${JSON.stringify(id)})`)
      // 0 when the job is active (locked): that is a no-op by contract.
      await bounded(producer().remove(encodeJobId(id)), commandTimeout, `remove(${JSON.stringify(id)})`)
    },

    async process(handler: JobHandler, processOpts: ProcessOptions = {}) {
      assertOpen()
      // a whole number, as the memory queue takes: BullMQ throws a raw Error below 1 (after opening a connection) and runs 2 at once for 1.5
      const concurrency = positiveInteger(processOpts.concurrency ?? 10, 'concurrency')
      if (database) {
        await checkDatabase('process()')
        assertOpen() // closed while the database was checked: no worker now
      }
      const { connection, owned } = workerConnection(opts)
      const running = runningJobs()
      // a retry is dated by the server's clock, read on the worker's own client (F19)
      const workerNow = serverClock(async () => redisTime(await worker.getBackend().client))
      const worker = new Worker(queueName, (job: Job, token?: string) => running.track(handler(toActiveJob(job, lockDuration, token))), {
        connection,
        prefix,
        concurrency,
        lockDuration,
        stalledInterval,
        // an idle worker looks for due delayed jobs every second (BullMQ: every 5 s), by its own
        // clock: a worker whose clock is behind that takes a timer's wake-up marker no longer
        // holds that timer from the others for seconds (F19)
        drainDelay: 1,
        maxStalledCount: UNLIMITED,
        settings: {
          // a handler's error may ask its own delay (the runner's hand-backs: JobHandler's redeliverAfterMs)
          backoffStrategy: (attemptsMade: number, _type?: string, err?: Error) =>
            serverDated(redeliverAfterMs(err) ?? backoffDelay(attemptsMade, baseDelay, maxDelay), workerNow, commandTimeout),
        },
      })
      // the last connection error (ECONNREFUSED, ENOTFOUND), named should it never connect
      let lastError: Error | undefined
      worker.on('error', (err: Error) => {
        lastError = err
        onError(err)
      })
      let ready = false
      let abandon = () => {}
      // a close before the worker is ready ends process() with the closed error, not a wait for Redis
      const abandoned = new Promise<never>((_, reject) => {
        abandon = () => reject(closedError(queueName))
      })
      abandoned.catch(() => {})
      let closing: Promise<void> | undefined
      const handle: JobWorker = {
        close() {
          if (!ready) abandon()
          closing ??= (async () => {
            try {
              // not ready yet (Redis unreachable, say): it runs no job, and a graceful close would wait for the connection
              if (ready) await closeWorker(worker, { queueName, running, graceMs: commandTimeout, onError })
              else await worker.close(true)
            } finally {
              workers.delete(handle)
              owned?.disconnect()
            }
          })()
          return closing
        },
      }
      // known before it is ready, so that a close() meanwhile closes it too (it would take jobs after)
      workers.add(handle)
      let timer: ReturnType<typeof setTimeout> | undefined
      // bounded: a Redis that is not there fails the start (F22), as the store's calls do; at least
      // 5 s, since connecting and readying a worker is more than one command
      const readyMs = Math.max(commandTimeout, 5000)
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(unreached(readyMs, opts.url, lastError)), readyMs)
      })
      try {
        await Promise.race([worker.waitUntilReady(), abandoned, late])
        if (!onCluster) await Promise.race([refuseClusterNode(await worker.getBackend().client), abandoned, late])
        ready = true
      } catch (err) {
        workers.delete(handle)
        await worker.close(true).catch(() => {})
        owned?.disconnect()
        throw toStoreError(err, 'process()')
      } finally {
        clearTimeout(timer)
      }
      return handle
    },

    close() {
      closed ??= (async () => {
        await Promise.all([...workers].map((w) => w.close()))
        // a `connection` of the caller's is theirs to close (BullMQ leaves it open): nothing to drop
        if (made && opts.url !== undefined) await closeProducer(made, commandTimeout)
        else await made?.close()
      })()
      return closed
    },
  }
}

/**
 * `work`, failing with `STORE_UNAVAILABLE` after `ms` without an answer; its errors as
 * LeanflowErrors (Redis OOM → `STORE_FULL`, a lost connection → `STORE_UNAVAILABLE`, the
 * driver's error as cause).
 */
async function bounded<T>(work: Promise<T>, ms: number, operation: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(
        new LeanflowError(
          'STORE_UNAVAILABLE',
          `${operation} got no answer from Redis within ${ms} ms (commandTimeout): it may still take effect; retry it with the same job id once Redis is reachable.`,
        ),
      )
    }, ms)
  })
  try {
    return await Promise.race([work, late])
  } catch (err) {
    throw toStoreError(err, operation)
  } finally {
    clearTimeout(timer)
  }
}

/**
 * The hash tag of a key starting with `prefix`, by Redis Cluster's rule: what lies between the
 * first `{` and the first `}` after it, when that is not empty; else none (the whole key is hashed).
 */
function hashTag(prefix: string): string | undefined {
  const open = prefix.indexOf('{')
  if (open < 0) return undefined
  const close = prefix.indexOf('}', open + 1)
  return close > open + 1 ? prefix.slice(open + 1, close) : undefined
}

/** `process()` whose worker got no connection within `ms`: where Redis was looked for, and why it was not reached. */
function unreached(ms: number, url: string | undefined, last: Error | undefined): LeanflowError {
  const where = url === undefined ? 'the connection given' : `at ${JSON.stringify(redactUrl(url))}`
  return new LeanflowError(
    'STORE_UNAVAILABLE',
    `process() got no connection to Redis within ${ms} ms${last ? `: ${last.message}` : ''}. Is Redis running ${where}? No worker was started: start it again once Redis is reachable.`,
  )
}

/** A call after `close()`: `STORE_UNAVAILABLE` (503 over HTTP), as a closed store's, not a caller's bad argument. */
function closedError(queueName: string): LeanflowError {
  return new LeanflowError(
    'STORE_UNAVAILABLE',
    `The BullMQ queue "${queueName}" is closed (close() was called): create a new one with createBullMQQueue(), and close it only once you are done with it.`,
  )
}

function toActiveJob(job: Job, lockMs: number, token: string | undefined): ActiveJob {
  return {
    id: decodeJobId(job.id ?? ''),
    name: job.name,
    data: job.data,
    delayMs: job.opts.delay ?? 0,
    // attemptsStarted counts moves to active, this one included (stalls too).
    deliveries: Math.max(0, (job.attemptsStarted ?? job.attemptsMade + 1) - 1),
    lockMs,
    // extendLock sets the lock again only while it holds this worker's token (1), else answers 0
    renewLock: token === undefined ? undefined : async () => (await job.extendLock(token, lockMs)) === 1,
    // moveToActive took the lock, dated processedOn by this worker's clock when it was sent
    lockedAt: job.processedOn,
  }
}

/** Workers need `maxRetriesPerRequest: null`; a shared client gets a duplicate that the worker owns. */
function workerConnection(opts: BullMQQueueOptions): { connection: object; owned?: Redis | Cluster } {
  const conn = opts.connection
  if (!conn) return { connection: { url: opts.url } }
  if (isCluster(conn)) {
    const cluster = conn
    const owned = cluster.duplicate(undefined, {
      redisOptions: { ...cluster.options.redisOptions, maxRetriesPerRequest: null },
    })
    return { connection: owned, owned }
  }
  const owned = (conn as Redis).duplicate({ maxRetriesPerRequest: null })
  return { connection: owned, owned }
}

/** `TIME` on BullMQ's client (ioredis underneath, whose commands its wrapper passes through); this process's clock if it has none. */
function redisTime(client: object): Promise<[string | number, string | number]> {
  const time = (client as { time?: () => Promise<[string, string]> }).time
  if (typeof time === 'function') return time.call(client)
  const now = Date.now()
  return Promise.resolve([Math.floor(now / 1000), (now % 1000) * 1000])
}

function isCluster(conn: Redis | Cluster | undefined): conn is Cluster {
  return conn !== undefined && 'isCluster' in conn && conn.isCluster === true
}

/**
 * A retry's delay as BullMQ needs it: BullMQ dates a retry by this process's `Date.now()`, so the
 * delay is shifted by how far this clock is from the server's, and the job is due `delayMs` after
 * now by the server's clock, whatever this machine's clock says (F19). 0 (retry at once) when that
 * is already past; the delay unshifted when the server's clock cannot be read in `timeoutMs`.
 */
async function serverDated(delayMs: number, serverNow: () => Promise<number>, timeoutMs: number): Promise<number> {
  const server = await bounded(serverNow(), timeoutMs, 'a retry').catch(() => undefined)
  const offset = server === undefined ? 0 : server - Date.now()
  return Math.max(0, Math.round(delayMs + offset))
}

/** Capped exponential backoff with ±20% jitter; `attemptsMade` is 1 after the first failure. */
function backoffDelay(attemptsMade: number, baseMs: number, maxMs: number): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.max(0, attemptsMade - 1))
  return Math.round(exp * (0.8 + Math.random() * 0.4))
}

function positive(value: number | undefined, fallback: number, what: string): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw invalidArgument(what, value, 'a finite number above 0')
  return value
}
