import type { JobQueue } from '@leanflow/core'
import { createRedisStreamStore, type RedisStreamStore } from '@leanflow/redis'
import { createRunner, type Runner } from '@leanflow/runner'
import type { Cluster } from 'ioredis'
import { CliError, redactUrl } from './cliError.js'
import { clusterClient } from './clusterClient.js'
import { EXIT_CODES } from './exitCodes.js'
import { OPTION_DEFAULTS } from './optionDefaults.js'

/** The global options, as commander parsed them. */
export interface GlobalOptions {
  redis?: string | undefined
  /** `--redis` names one node of a Redis Cluster. */
  cluster?: boolean | undefined
  prefix?: string | undefined
  json?: boolean | undefined
  timeout: string
  bullmq?: boolean | undefined
  bullmqQueue: string
  bullmqPrefix: string
}

/** The store (and, for commands that act, a runner without flows) one command works with. */
export interface Session {
  readonly url: string
  readonly store: RedisStreamStore
  /** With `--cluster`: the last error a node of the cluster gave, if any. */
  clusterError(): Error | undefined
  /** A runner of no flows, never started: cancel, resolve, publish and schedules work without the flows' code. */
  runner(): Promise<Runner>
  close(): Promise<void>
}

/** The longest timer Node keeps (2^31 - 1 ms, about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1

/** A positive whole number of ms from an option, or a usage error naming it. */
export function parseMs(value: string, option: string): number {
  const n = Number(value)
  // a timer of 2^31 ms or more fires at once in Node (TimeoutOverflowWarning): every call would time out
  if (!Number.isInteger(n) || n <= 0 || n > MAX_TIMER_MS)
    throw new CliError(EXIT_CODES.usage, 'USAGE', `${option} must be a whole number of ms from 1 to ${MAX_TIMER_MS}, got "${value}".`)
  return n
}

/** Opens the store on `--redis` / `REDIS_URL`; a usage error (exit 2) when neither is given. */
export function openSession(opts: GlobalOptions, onError: (err: unknown) => void): Session {
  const url = opts.redis
  if (url === undefined || url === '') {
    throw new CliError(
      EXIT_CODES.usage,
      'USAGE',
      'No Redis to talk to: pass --redis redis://host:6379 or set REDIS_URL (the URL your runners use).',
    )
  }
  if (!/^rediss?:\/\//.test(url)) {
    throw new CliError(EXIT_CODES.usage, 'USAGE', `--redis (or REDIS_URL) must be a redis:// or rediss:// URL, got "${redactUrl(url)}".`)
  }
  const commandTimeout = parseMs(opts.timeout, '--timeout')
  const made = opts.cluster ? clusterClient(url, commandTimeout) : undefined
  const cluster = made?.cluster
  const store = cluster
    ? createRedisStreamStore({ redis: cluster, prefix: opts.prefix, connectionName: 'leanflow-cli' })
    : createRedisStreamStore({ url, prefix: opts.prefix, commandTimeout, connectionName: 'leanflow-cli' })
  let runner: Runner | undefined
  let queue: JobQueue | undefined
  return {
    url,
    store,
    clusterError: () => made?.lastError(),
    async runner() {
      if (runner) return runner
      if (opts.bullmq) queue = await openBullMQ(cluster ? { connection: cluster } : { url }, opts, commandTimeout)
      runner = createRunner({ store, flows: [], queue, onError })
      return runner
    },
    async close() {
      await queue?.close()
      await store.close()
      // a client given to the store (and the queue) is closed by who made it
      cluster?.disconnect()
    },
  }
}

/** The workers' BullMQ queue, from the optional peer @leanflow/bullmq. */
async function openBullMQ(
  redis: { url: string } | { connection: Cluster },
  opts: GlobalOptions,
  commandTimeout: number,
): Promise<JobQueue> {
  let mod: typeof import('@leanflow/bullmq')
  try {
    mod = await import('@leanflow/bullmq')
  } catch (err) {
    throw new CliError(
      EXIT_CODES.usage,
      'USAGE',
      `--bullmq needs @leanflow/bullmq and bullmq installed beside @leanflow/cli: npm install @leanflow/bullmq bullmq (${(err as Error).message.split('\n')[0]}).`,
    )
  }
  // BullMQ reports each failed (re)connect: as for the store's connections, the command's own error
  // (STORE_UNAVAILABLE, exit 4) says it, once, and stderr keeps the one line --json promises
  // and --timeout bounds its commands as the store's
  // on a Cluster the default prefix is the hash-tagged one the workers' createBullMQQueue takes there
  const prefix = 'connection' in redis && opts.bullmqPrefix === OPTION_DEFAULTS.bullmqPrefix ? `{${opts.bullmqPrefix}}` : opts.bullmqPrefix
  return mod.createBullMQQueue({ ...redis, queueName: opts.bullmqQueue, prefix, commandTimeout, onError: () => {} })
}
