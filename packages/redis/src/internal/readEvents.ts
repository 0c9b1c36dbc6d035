import { type EventRecord, invalidArgument, positiveInteger, type ReadOptions, STORE_DEFAULTS, storeOptions } from '@leanflow/core'
import type { Keys } from '../keys.js'
import { type CorruptEntryInfo, decodeEntry } from './decode.js'
import type { RedisClient } from './script.js'
import { isMaxId, isMinId, streamId } from './streamIds.js'

/** Most entries a read asks for to refill a page it skipped malformed entries of. */
const REFILL_MAX = 1000

/** What {@link readEvents} reads with: the store's command connection, its keys, its `onCorrupt`. */
export interface ReadContext {
  redis: RedisClient
  keys: Keys
  onCorrupt: (info: CorruptEntryInfo) => void
}

/**
 * The store's `read`: a page of a run's events (XRANGE, or XREVRANGE backward) after or before an
 * id, malformed entries skipped (each reported to `onCorrupt`) and refilled from the next page.
 *
 * @example
 * ```ts
 * const page = await readEvents({ redis, keys, onCorrupt }, 'r1', { after: '1700000000000-0', limit: 100 })
 * ```
 */
export async function readEvents(ctx: ReadContext, runId: string, options?: ReadOptions): Promise<EventRecord[]> {
  const { redis, keys, onCorrupt } = ctx
  const events = keys.events(runId)
  const opts = storeOptions('read', options)
  const limit = positiveInteger(opts.limit ?? STORE_DEFAULTS.readLimit, 'read limit')
  const after = opts.after === undefined ? undefined : streamId('read', 'after', opts.after)
  const before = opts.before === undefined ? undefined : streamId('read', 'before', opts.before)
  const backward = opts.direction === 'backward'
  if (opts.direction !== undefined && !backward && opts.direction !== 'forward') {
    throw invalidArgument('read direction', opts.direction, "'forward' or 'backward'")
  }
  // nothing is after the largest id or before 0-0 (and Redis refuses those exclusive ranges)
  if ((after !== undefined && isMaxId(after)) || (before !== undefined && isMinId(before))) return []
  let low = after === undefined ? '-' : `(${after}`
  let high = before === undefined ? '+' : `(${before}`
  const out: EventRecord[] = []
  // Skipped (malformed) entries are refilled from the next page, so a full page means "maybe
  // more". A refill asks for twice the entries the page before skipped (up to REFILL_MAX), so
  // a run of N malformed entries costs about log N + N / REFILL_MAX round trips, not N, and
  // what is read beyond the limit stays under twice what was skipped.
  let count = limit
  while (out.length < limit) {
    const page = (
      backward ? await redis.xrevrange(events, high, low, 'COUNT', count) : await redis.xrange(events, low, high, 'COUNT', count)
    ) as Array<[string, string[]]>
    let skipped = 0
    for (const [id, fields] of page) {
      if (out.length === limit) break
      const record = decodeEntry(runId, id, fields, onCorrupt)
      if (record) out.push(record)
      else skipped++
    }
    const lastId = page[page.length - 1]?.[0]
    if (page.length < count || lastId === undefined) break
    if (backward) high = `(${lastId}`
    else low = `(${lastId}`
    count = Math.max(limit - out.length, Math.min(REFILL_MAX, skipped * 2))
  }
  return out
}
