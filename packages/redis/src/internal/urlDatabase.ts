import { redisUrlDatabase } from '@leanflow/core'
import { Redis } from 'ioredis'
import { redacted } from './storeErrors.js'

/**
 * Refuses a `url` that ioredis would read as a socket path although it is no path (`http://host`,
 * `redis:/host`: it would wait on a file that does not exist, call after call), and one whose path names no database index (`redis://host:6379/db`, `/-1`): ioredis
 * reads it as database `NaN` (or a negative one) and sends `SELECT NaN` as it connects, whose
 * error reply escapes as an uncaught exception and ends the process. The URL is read by ioredis
 * itself, on a client that never connects, so the check agrees with the connections the store
 * opens (`host:6379` without a scheme is database 0); the rules are core's `redisUrlDatabase`.
 *
 * @example
 * ```ts
 * assertUrlDatabase('redis://127.0.0.1:6379/db') // throws INVALID_ARGUMENT naming "/db"
 * ```
 */
export function assertUrlDatabase(url: string): void {
  const parsed = new Redis(url, { lazyConnect: true })
  parsed.disconnect()
  redisUrlDatabase(url, parsed.options, `The Redis url ${redacted(url)}`)
}
