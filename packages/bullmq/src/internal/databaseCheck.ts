import { LeanflowError, redisUrlDatabase } from '@leanflow/core'
import { Redis } from 'ioredis'

/**
 * For a `url` naming a database other than 0 (`redis://host:6379/3`): a check, run once before
 * the queue's first command, that the server has that database. BullMQ's own connections report a
 * failed `SELECT` as an 'error' event and then go on in database 0, where the queue's jobs would
 * land; the check refuses with `INVALID_ARGUMENT` naming the index instead. `undefined` for a URL
 * without a database (or database 0: every server has it), so those queues pay nothing. A path
 * that is no index is `INVALID_ARGUMENT` at once.
 */
export function databaseCheck(url: string): (() => Promise<void>) | undefined {
  const index = databaseOf(url)
  if (index === undefined || index === 0) return undefined
  let checked: Promise<void> | undefined
  return () => {
    checked ??= probe(url, index).catch((err: unknown) => {
      // unreachable, say: asked again at the next call (the queue's own command reports it)
      if (!(err instanceof LeanflowError)) checked = undefined
      throw err
    })
    return checked
  }
}

/**
 * The database index of a URL as ioredis reads it (on a client that never connects), so the check
 * agrees with BullMQ's connections: `host:6379` without a scheme is database 0, not 6379. A url it
 * would read as a socket path although it is none, or whose path names no index, is refused
 * (core's `redisUrlDatabase`).
 */
function databaseOf(url: string): number | undefined {
  let parsed: Redis
  try {
    parsed = new Redis(url, { lazyConnect: true })
  } catch (cause) {
    // a URL ioredis cannot parse (a port over 65535, `redis://[::1`): its raw TypeError named nothing
    throw new LeanflowError(
      'INVALID_ARGUMENT',
      `The queue's url cannot be read (${cause instanceof Error ? cause.message : String(cause)}): pass a URL like "redis://127.0.0.1:6379/0" (a port from 1 to 65535, IPv6 hosts in brackets).`,
      { cause },
    )
  }
  parsed.disconnect()
  return redisUrlDatabase(url, parsed.options, "The queue's url")
}

/** SELECTs `index` on a connection of its own (opened in database 0), closed after. */
async function probe(url: string, index: number): Promise<void> {
  // one try, no reconnects: an unreachable server fails the check now (it is asked again at the next call)
  const client = new Redis(url, { db: 0, lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false, retryStrategy: () => null })
  client.on('error', () => {})
  try {
    await client.connect()
    await client.select(index)
  } catch (err) {
    if (err instanceof Error && /DB index is out of range/i.test(err.message)) {
      throw new LeanflowError(
        'INVALID_ARGUMENT',
        `The Redis server of the queue's url has no database ${index} (the URL's "/${index}"): use an index below its "databases" setting (16 by default), e.g. "/0".`,
        { cause: err },
      )
    }
    throw err
  } finally {
    client.disconnect()
  }
}
