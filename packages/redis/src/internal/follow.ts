import { compareEventIds, type EventRecord, isEventId, LeanflowError } from '@leanflow/core'
import type { Keys } from '../keys.js'
import { type CorruptHandler, decodeEntry, decodeJson } from './decode.js'
import type { RedisClient } from './script.js'
import type { ChannelListener, SubscriberHub } from './subscriberHub.js'

/** Entries per backfill page. */
export const FOLLOW_PAGE = 1000
/** Live messages held for a slow consumer before switching to reading the stream. */
const MAX_QUEUED = 10_000

export interface FollowContext {
  redis: RedisClient
  keys: Keys
  hub: SubscriberHub
  onCorrupt: CorruptHandler
}

/**
 * Gap-free, duplicate-free follow of one run.
 *
 * 1. Subscribe to the run's channel and wait for Redis to confirm it.
 * 2. Read the stream from the last yielded id, in pages, to the end.
 * 3. Yield live messages whose id is greater than the last yielded one.
 *
 * Why no gap: an event is XADDed and PUBLISHed by one script, so an event
 * published before the subscription took effect is already in the stream
 * when step 2 runs (step 2 starts after the confirmation), and every later
 * one arrives live, in id order (one publisher per run, one connection).
 * When the subscriber connection drops, live messages may be missed: the
 * follower stops trusting them until the hub has subscribed again, then
 * repeats step 2 from its last id. Pub/Sub only rings the bell; the stream
 * is the truth. Ids ≤ the last yielded are dropped, so there is no duplicate.
 */
export function followRun(
  ctx: FollowContext,
  runId: string,
  after: string | undefined,
  signal: AbortSignal | undefined,
): AsyncIterable<EventRecord> {
  if (after !== undefined && !isEventId(after)) {
    throw new LeanflowError('INVALID_ARGUMENT', `follow "after" must be an event id "<ms>-<seq>", got ${JSON.stringify(after)}.`)
  }
  return {
    [Symbol.asyncIterator](): AsyncIterator<EventRecord> {
      // return() must settle a next() that waits for a live event; an async
      // generator would queue it behind that next(), so stop it through its signal.
      const stop = new AbortController()
      const onAbort = () => stop.abort()
      if (signal?.aborted) stop.abort()
      else signal?.addEventListener('abort', onAbort, { once: true })
      const gen = generate(ctx, runId, after, stop.signal)
      const finish = async () => {
        signal?.removeEventListener('abort', onAbort)
        stop.abort()
        return gen.return(undefined)
      }
      // the generator yields batches (a stream page, the queued live messages); hand them out one by one
      let batch: EventRecord[] = []
      let at = 0
      const refill = async (): Promise<IteratorResult<EventRecord>> => {
        while (at >= batch.length) {
          const r = await gen.next().catch((err: unknown) => {
            signal?.removeEventListener('abort', onAbort)
            throw err
          })
          if (r.done) {
            signal?.removeEventListener('abort', onAbort)
            return { done: true, value: undefined }
          }
          batch = r.value
          at = 0
        }
        if (stop.signal.aborted) {
          await finish() // release the subscription: the caller will not call return() after done
          return { done: true, value: undefined }
        }
        return { done: false, value: batch[at++]! }
      }
      return {
        next(): Promise<IteratorResult<EventRecord>> {
          // the common case, an event of the current batch, without an async function's overhead
          if (at < batch.length && !stop.signal.aborted) return Promise.resolve({ done: false, value: batch[at++]! })
          return refill()
        },
        return: async () => {
          await finish()
          return { done: true, value: undefined }
        },
      }
    },
  }
}

async function* generate(
  ctx: FollowContext,
  runId: string,
  after: string | undefined,
  signal: AbortSignal,
): AsyncGenerator<EventRecord[], void, undefined> {
  const events = ctx.keys.events(runId)
  const channel = ctx.keys.live(runId)
  if (signal.aborted) return

  const live: string[] = []
  let dirty = false // the subscriber dropped: live messages may be missing
  let resync = true // read the stream before trusting live messages
  let ended = false
  let wake: (() => void) | undefined
  const notify = () => {
    const w = wake
    wake = undefined
    w?.()
  }
  const listener: ChannelListener = {
    message(payload) {
      if (live.length >= MAX_QUEUED) {
        live.length = 0
        resync = true
      } else live.push(payload)
      notify()
    },
    lost() {
      dirty = true
      notify()
    },
    resumed() {
      dirty = false
      resync = true
      notify()
    },
    end() {
      ended = true
      notify()
    },
  }
  signal.addEventListener('abort', notify)
  let subscribed = false
  try {
    try {
      // false when the follower ends while subscribing (e.g. the connection is down): return, no throw
      if (!(await ctx.hub.add(channel, listener, signal))) return
    } catch (err) {
      if (ended || signal.aborted) return // the store closed while subscribing: end, no throw
      throw err
    }
    subscribed = true
    let last = after ?? '0-0'
    let first = true
    for (;;) {
      if (ended || signal.aborted) return
      if (resync && !dirty) {
        resync = false
        const fetchPage = (from: string) => {
          const p = retrying(signal, () => ctx.redis.xrange(events, `(${from}`, '+', 'COUNT', FOLLOW_PAGE))
          p.catch(() => {}) // awaited below; no unhandled rejection if the follower ends first
          return p
        }
        let next: ReturnType<typeof fetchPage> | undefined = fetchPage(last)
        while (next) {
          const page = await next
          next = undefined
          if (page === undefined || ended || signal.aborted) return
          if (first && page.length === 0 && after !== undefined && (await ctx.redis.exists(events)) === 0) {
            throw new LeanflowError(
              'HISTORY_GONE',
              `Run "${runId}" has no history to follow after "${after}": the run expired (retention) or never existed. Reload it from the start.`,
            )
          }
          first = false
          const batch: EventRecord[] = []
          for (const [id, fields] of page) {
            last = id
            const record = decodeEntry(runId, id, fields, ctx.onCorrupt)
            if (record) batch.push(record)
          }
          // a full page: fetch the next one while the consumer handles this one
          if (page.length === FOLLOW_PAGE) next = fetchPage(last)
          if (batch.length > 0) {
            yield batch
            if (ended || signal.aborted) return
          }
        }
        continue
      }
      if (!dirty && !resync && live.length > 0) {
        const batch: EventRecord[] = []
        for (const payload of live.splice(0, live.length)) {
          const sp = payload.indexOf(' ')
          const id = payload.slice(0, sp)
          if (sp <= 0 || !isEventId(id) || compareEventIds(id, last) <= 0) continue
          // A message that does not decode was not written by the append script: drop it without moving `last`.
          const record = decodeJson(runId, id, payload.slice(sp + 1), ctx.onCorrupt)
          if (!record) continue
          last = id
          batch.push(record)
        }
        if (batch.length > 0) {
          yield batch
          if (ended || signal.aborted) return
        }
        continue
      }
      await new Promise<void>((resolve) => {
        wake = resolve
      })
    }
  } finally {
    signal.removeEventListener('abort', notify)
    if (subscribed) ctx.hub.remove(channel, listener)
  }
}

/**
 * Runs a read, retrying transient connection errors (Redis restarting,
 * a killed connection) for about a minute; `undefined` when aborted.
 */
async function retrying<T>(signal: AbortSignal | undefined, read: () => Promise<T>): Promise<T | undefined> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await read()
    } catch (err) {
      if (attempt >= 60 || !isConnectionError(err)) throw err
      await new Promise((r) => setTimeout(r, Math.min(100 * attempt, 1000)))
      if (signal?.aborted) return undefined
    }
  }
}

function isConnectionError(err: unknown): boolean {
  if (!(err instanceof Error)) return false
  return /ECONNRE|EPIPE|ETIMEDOUT|Connection is closed|max retries per request|LOADING|TRYAGAIN|CLUSTERDOWN/i.test(err.message)
}
