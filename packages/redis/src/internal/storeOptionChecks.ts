// The checks of createRedisStreamStore's options that need no connection, made before it opens
// one: a store refused for a bad option leaves nothing open (a connection that reconnects for
// ever, a process that never exits).
import { invalidArgument, LeanflowError } from '@leanflow/core'

/** What the checks read of the options (the store's own type, without importing it). */
interface CheckedOptions {
  url?: unknown
  redis?: unknown
  bus?: unknown
  onCorrupt?: unknown
  onWarning?: unknown
  connectionName?: unknown
}

/**
 * Throws `INVALID_ARGUMENT` for an option createRedisStreamStore cannot use: neither or both of
 * `url` and `redis`, a `redis` that is no ioredis client (a url string, `{ host, port }`), a `bus`
 * without `publish`, an `onCorrupt` or `onWarning` that is no function.
 *
 * @example
 * ```ts
 * checkStoreOptions({ redis: process.env.REDIS_URL }) // throws: pass the url as `url`
 * ```
 */
export function checkStoreOptions(options: CheckedOptions): void {
  if (options.redis === undefined && options.url === undefined) {
    throw new LeanflowError(
      'INVALID_ARGUMENT',
      'createRedisStreamStore needs `url` (e.g. "redis://localhost:6379") or `redis` (an ioredis client).',
    )
  }
  if (options.redis !== undefined && options.url !== undefined) {
    throw new LeanflowError(
      'INVALID_ARGUMENT',
      'createRedisStreamStore takes `url` or `redis`, not both: pass one (the url of a connection it makes and owns, or your ioredis client).',
    )
  }
  if (options.url !== undefined && (typeof options.url !== 'string' || options.url === ''))
    throw invalidArgument('createRedisStreamStore url', options.url, 'a Redis URL string such as "redis://localhost:6379"')
  if (options.redis !== undefined && !isIoredisClient(options.redis)) {
    const hint =
      typeof options.redis === 'string' ? 'a url goes in `url`: createRedisStreamStore({ url })' : 'new Redis(url) or new Cluster(nodes)'
    throw invalidArgument('createRedisStreamStore redis', options.redis, `an ioredis client (${hint})`)
  }
  if (options.bus !== undefined && typeof (options.bus as { publish?: unknown } | null)?.publish !== 'function')
    throw invalidArgument('createRedisStreamStore bus', options.bus, 'an EventBus (new EventBus()), or leave it out')
  for (const name of ['onCorrupt', 'onWarning'] as const) {
    if (options[name] !== undefined && typeof options[name] !== 'function')
      throw invalidArgument(`createRedisStreamStore ${name}`, options[name], `a function, or leave it out`)
  }
  if (options.connectionName !== undefined && (typeof options.connectionName !== 'string' || options.connectionName === ''))
    throw invalidArgument('createRedisStreamStore connectionName', options.connectionName, 'a non-empty string, or leave it out')
}

/** An ioredis `Redis` or `Cluster` (or a client shaped like one): what the store calls on it. */
function isIoredisClient(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false
  const c = value as Record<string, unknown>
  return typeof c.once === 'function' && typeof c.evalsha === 'function' && typeof c.duplicate === 'function'
}
