// The one check of a Redis URL that the Redis store and the BullMQ queue both make. Core cannot
// import ioredis: each caller reads the URL with it (so the check agrees with its connections)
// and passes what ioredis read.
import { LeanflowError } from './errors.js'

/** What ioredis read from a URL: `new Redis(url, { lazyConnect: true }).options`. */
export interface RedisUrlReading {
  /** The database index ioredis would `SELECT` (`NaN` for a path that is no index). */
  db?: number | undefined
  /** The socket path ioredis would dial. */
  path?: string | undefined
}

/**
 * The database index of `url` as ioredis read it (`read`; `undefined` for none), or
 * `INVALID_ARGUMENT` for a URL ioredis would read as a socket path although it is none
 * (`http://host`, `redis:/host`: it would wait on a file that does not exist, call after call)
 * and for a path that names no index (`/db`, `/-1`: ioredis would send `SELECT NaN`, whose error
 * reply escapes as an uncaught exception). `subject` begins each message, naming the URL.
 *
 * @example
 * ```ts
 * const client = new Redis(url, { lazyConnect: true })
 * const db = redisUrlDatabase(url, client.options, "The queue's url") // 3 for redis://host:6379/3
 * client.disconnect()
 * ```
 */
export function redisUrlDatabase(url: string, read: RedisUrlReading, subject: string): number | undefined {
  const { db, path: socket } = read
  if (socket !== undefined && !url.startsWith('/')) {
    // http://host:6379, redis:/host (one slash): ioredis dials a socket file named like the rest
    throw new LeanflowError(
      'INVALID_ARGUMENT',
      `${subject} is no redis:// URL (ioredis would read it as the path of a socket file): use redis://host:6379 (rediss:// for TLS), or a socket path starting with /.`,
    )
  }
  if (db === undefined || (Number.isSafeInteger(db) && db >= 0)) return db
  let path = ''
  try {
    path = new URL(url).pathname
  } catch {}
  throw new LeanflowError(
    'INVALID_ARGUMENT',
    `${subject} names no database index (its path "${path}"): use redis://host:6379/<index>, an index such as 0 or 3, or leave the path out.`,
  )
}
