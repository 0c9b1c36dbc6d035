import { LeanflowError, redisUrlDatabase } from '@leanflow/core'
import { Redis } from 'ioredis'
import { redacted } from './storeErrors.js'

/**
 * Reads the database index of `url` (0 when it names none), refusing a `url` that ioredis would read as a socket path although it is no path (`http://host`,
 * `redis:/host`: it would wait on a file that does not exist, call after call), and one whose path names no database index (`redis://host:6379/db`, `/-1`): ioredis
 * reads it as database `NaN` (or a negative one) and sends `SELECT NaN` as it connects, whose
 * error reply escapes as an uncaught exception and ends the process. The URL is read by ioredis
 * itself, on a client that never connects, so the check agrees with the connections the store
 * opens (`host:6379` without a scheme is database 0); the rules are core's `redisUrlDatabase`.
 *
 * @example
 * ```ts
 * assertUrlDatabase('redis://127.0.0.1:6379/db') // throws INVALID_ARGUMENT naming "/db"
 * assertUrlDatabase('redis://127.0.0.1:6379/3')  // 3
 * ```
 */
export function assertUrlDatabase(url: string): number {
  return redisUrlDatabase(url, readUrl(url, `The Redis url ${redacted(url)}`).options, `The Redis url ${redacted(url)}`) ?? 0
}

/**
 * The database a client of the app's is in now: the last `SELECT` it sent (ioredis keeps it in
 * `condition.select`, and selects it again on every reconnect), else its `db` option, else 0.
 * Read at each use, so a client selected after the store was made is followed too.
 *
 * @example
 * ```ts
 * clientDatabase(new Redis('redis://127.0.0.1:6379/2')) // 2
 * await client.select(3); clientDatabase(client)          // 3
 * ```
 */
export function clientDatabase(client: unknown): number {
  const c = client as { condition?: { select?: unknown } | null; options?: { db?: unknown } } | null
  const db = c?.condition?.select ?? c?.options?.db
  const n = typeof db === 'string' ? Number(db) : db
  return typeof n === 'number' && Number.isSafeInteger(n) && n > 0 ? n : 0
}

/**
 * A client that never connects, made from `url` to read it as ioredis reads it; a URL ioredis
 * cannot parse (a port over 65535, `redis://[::1`) is `INVALID_ARGUMENT` naming it (`subject`),
 * not ioredis's raw `TypeError`.
 *
 * @example
 * ```ts
 * readUrl('redis://127.0.0.1:65536', 'The Redis url') // throws INVALID_ARGUMENT
 * ```
 */
export function readUrl(url: string, subject: string): Redis {
  let parsed: Redis
  try {
    parsed = new Redis(url, { lazyConnect: true })
  } catch (cause) {
    throw new LeanflowError(
      'INVALID_ARGUMENT',
      `${subject} cannot be read (${cause instanceof Error ? cause.message : String(cause)}): pass a URL like "redis://127.0.0.1:6379/0" (a port from 1 to 65535, IPv6 hosts in brackets).`,
      { cause },
    )
  }
  parsed.disconnect()
  return parsed
}
