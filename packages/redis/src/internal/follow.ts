import { compareEventIds, type EventRecord, eventIdOption, historyGone, isEventId, LeanflowError, toStoreError } from '@leanflow/core'
import type { Keys } from '../keys.js'
import { type CorruptHandler, decodeEntry, decodeJson } from './decode.js'
import type { RedisClient } from './script.js'
import type { ChannelListener, LiveHub } from './subscriberHub.js'

/** Entries per backfill page, at most. */
export const FOLLOW_PAGE = 1000
/** Entries of a follower's first page, before it knows how large the run's events are. */
const FIRST_PAGE = 8
/**
 * Bytes a backfill page aims at: the next page asks for as many entries as fit at the size of
 * the last one's, so a run of large events (up to `maxEventBytes` each) is read a few at a time
 * and a consumer that stops reading holds about two pages, not 1,000 large events.
 */
const PAGE_BYTES = 4 * 1024 * 1024
/** Records (or messages) held for a slow consumer before switching to reading the stream. */
const MAX_QUEUED = 10_000
/** Bytes of live messages held or queued for a slow consumer before switching to reading the stream. */
const MAX_QUEUED_BYTES = 8 * 1024 * 1024

/** Entries of a page that holds about {@link PAGE_BYTES}, at `bytes` for `entries` entries (1 to {@link FOLLOW_PAGE}). */
function pageEntries(entries: number, bytes: number): number {
  return Math.max(1, Math.min(FOLLOW_PAGE, Math.floor((entries * PAGE_BYTES) / Math.max(bytes, 1))))
}

export interface FollowContext {
  redis: RedisClient
  keys: Keys
  hub: LiveHub
  onCorrupt: CorruptHandler
  /**
   * How long a new follower waits for Redis to confirm its subscription before it fails with
   * `STORE_UNAVAILABLE` (the store's `commandTimeout`): a follow started while Redis is
   * unreachable fails as a read does, rather than waiting for ever. A follower already live rides
   * out an outage (it reads again once resubscribed).
   */
  subscribeTimeoutMs: number
}

/**
 * Gap-free, duplicate-free follow of one run.
 *
 * 1. Subscribe to the run's channel and wait for Redis to confirm it.
 * 2. Read the stream from the last delivered id, in pages, to the end,
 *    holding the live messages that arrive meanwhile.
 * 3. Go live: the held messages, then each message as it arrives, whose id
 *    is greater than the last one taken.
 *
 * Why no gap: an event is XADDed and PUBLISHed by one script, so an event
 * published before the subscription took effect is already in the stream
 * when step 2 runs (step 2 starts after the confirmation), and every later
 * one arrives live, in id order (one publisher per run, one connection).
 * When the subscriber connection drops, live messages may be missed: the
 * follower stops trusting them until the hub has subscribed again, then
 * repeats step 2 from its last id. Pub/Sub only rings the bell; the stream
 * is the truth. Ids ≤ the last taken are dropped, so there is no duplicate.
 */
export function followRun(
  ctx: FollowContext,
  runId: string,
  after: string | undefined,
  signal: AbortSignal | undefined,
): AsyncIterable<EventRecord> {
  eventIdOption('follow', 'after', after)
  return { [Symbol.asyncIterator]: () => new RedisFollower(ctx, runId, after, signal) }
}

type Waiter = { resolve: (r: IteratorResult<EventRecord>) => void; reject: (err: unknown) => void }
const DONE: IteratorResult<EventRecord> = Object.freeze({ done: true, value: undefined })

/**
 * One follower. Live, a message is decoded in the subscriber's callback and handed straight to
 * a waiting `next()` (or queued): no generator or promise chain per event, and nothing of an
 * event stays referenced once it is taken, so a waiting follower holds no record.
 */
class RedisFollower implements AsyncIterator<EventRecord>, ChannelListener {
  private readonly events: string
  private readonly channel: string
  /** Id of the newest record decoded (queued or taken). */
  private last: string
  /** Id of the newest record taken by the consumer: where a resync starts after a queue overflow. */
  private taken: string
  private queue: EventRecord[] = []
  private head = 0
  private readonly waiters: Waiter[] = []
  /** Caught up with the stream: messages are decoded and delivered as they arrive. */
  private live = false
  /** Messages that arrived while the stream was being read (or the connection was down). */
  private held: string[] = []
  /** Bytes of `held`. */
  private heldBytes = 0
  /** Bytes of the live messages queued since the queue was last empty. */
  private liveBytes = 0
  private dirty = false // the subscriber dropped: live messages may be missing
  private resync = true // read the stream before trusting live messages
  private first = true
  private syncing = false
  private subscribed = false
  private closed = false // no more events will come (returned, aborted, failed or store closed)
  private canceled = false // returned or aborted: queued records are dropped
  private failure: { err: unknown } | undefined
  private readonly stop = new AbortController()
  /** Entries the next backfill page asks for (see {@link PAGE_BYTES}). */
  private pageSize = FIRST_PAGE
  /** Wakes the stream reader waiting for the consumer to take a page. */
  private kick: (() => void) | undefined
  private readonly onAbort = () => this.cancel()

  constructor(
    private readonly ctx: FollowContext,
    private readonly runId: string,
    private readonly after: string | undefined,
    private readonly signal: AbortSignal | undefined,
  ) {
    this.events = ctx.keys.events(runId)
    this.channel = ctx.keys.live(runId)
    this.last = this.taken = after ?? '0-0'
    // aborted already, or the store closed: ended, without a throw (as a follow open at close() ends)
    if (signal?.aborted || ctx.hub.closed) {
      this.canceled = this.closed = true
      return
    }
    signal?.addEventListener('abort', this.onAbort, { once: true })
    void this.start()
  }

  next(): Promise<IteratorResult<EventRecord>> {
    if (!this.canceled && this.head < this.queue.length) return Promise.resolve({ done: false, value: this.take() })
    if (this.failure !== undefined) {
      const { err } = this.failure
      this.failure = undefined
      this.canceled = true
      return Promise.reject(err)
    }
    if (this.closed) return Promise.resolve(DONE)
    this.wakeReader()
    return new Promise((resolve, reject) => {
      this.waiters.push({ resolve, reject })
    })
  }

  async return(): Promise<IteratorResult<EventRecord>> {
    this.cancel()
    return DONE
  }

  // ---- ChannelListener (the hub calls these) ----

  message(payload: string): void {
    if (this.closed) return
    if (!this.live) {
      if (this.held.length >= MAX_QUEUED || this.heldBytes >= MAX_QUEUED_BYTES) {
        this.held = []
        this.heldBytes = 0
        this.resync = true
      } else {
        this.held.push(payload)
        this.heldBytes += payload.length
      }
      return
    }
    this.accept(payload)
    const waiting = this.queue.length - this.head
    if (waiting === 0) return
    this.liveBytes += payload.length
    if (waiting > MAX_QUEUED || this.liveBytes > MAX_QUEUED_BYTES) {
      // the consumer is slow: drop what waits and read it again from the stream, paced by the
      // consumer, in pages sized for messages like this one
      this.pageSize = pageEntries(1, payload.length)
      this.queue = []
      this.head = 0
      this.liveBytes = 0
      this.last = this.taken
      this.live = false
      this.resync = true
      void this.sync()
    }
  }

  lost(): void {
    this.dirty = true
    this.live = false
  }

  resumed(): void {
    this.dirty = false
    this.resync = true
    this.live = false
    void this.sync()
  }

  end(): void {
    // the store is closing: done at the consumer's next call, as on every store (a page of older
    // events read for a slow consumer is dropped, not handed out after close() resolved)
    this.cancel()
  }

  // ---- internals ----

  private take(): EventRecord {
    const value = this.queue[this.head] as EventRecord
    this.queue[this.head++] = undefined as unknown as EventRecord
    if (this.head === this.queue.length) {
      this.queue.length = 0
      this.head = 0
      this.liveBytes = 0
      this.wakeReader()
    }
    this.taken = value.id
    return value
  }

  private push(record: EventRecord): void {
    const w = this.waiters.shift()
    if (w === undefined) this.queue.push(record)
    else {
      this.taken = record.id
      w.resolve({ done: false, value: record })
    }
  }

  /** Decodes a live message `"<id> <json>"` and delivers it unless it was seen already. */
  private accept(payload: string): void {
    const sp = payload.indexOf(' ')
    const id = payload.slice(0, sp)
    if (sp <= 0 || !isEventId(id) || compareEventIds(id, this.last) <= 0) return
    // A message that does not decode was not written by the append script: drop it without moving `last`.
    const record = decodeJson(this.runId, id, payload.slice(sp + 1), this.ctx.onCorrupt)
    if (!record) return
    this.last = id
    this.push(record)
  }

  private async start(): Promise<void> {
    // Redis unreachable as the follow starts: a typed failure once the command timeout has passed,
    // not a hang (a second later, so the SUBSCRIBE's own timeout, with the driver's error, comes first)
    const ms = this.ctx.subscribeTimeoutMs
    const timer = setTimeout(() => this.failUnlessClosed(unsubscribed(this.runId, ms)), ms + SUBSCRIBE_GRACE_MS)
    try {
      // false when the follower ends while subscribing (e.g. the connection is down): done, no throw
      if (!(await this.ctx.hub.add(this.channel, this, this.stop.signal))) {
        this.close(true)
        return
      }
    } catch (err) {
      // the store closed or the follower ended while subscribing: end, no throw
      this.failUnlessClosed(err)
      return
    } finally {
      clearTimeout(timer)
    }
    this.subscribed = true
    if (this.closed)
      this.close() // ended meanwhile: unsubscribe
    else await this.sync()
  }

  /** Reads the stream from `last` to its end (paced by the consumer), then goes live. */
  private async sync(): Promise<void> {
    if (this.syncing || !this.subscribed) return
    this.syncing = true
    try {
      while (this.resync && !this.dirty && !this.closed) {
        this.resync = false
        let count = this.pageSize
        let next: Promise<Array<[string, string[]]> | undefined> | undefined = this.fetchPage(this.last, count)
        while (next !== undefined) {
          const page = await next
          next = undefined
          if (page === undefined || this.closed) return
          // from 0-0 nothing can be gone: a run with no events yet is waited for, as without `after`
          const gone = this.after !== undefined && this.after !== '0-0'
          if (this.first && page.length === 0 && gone && (await this.ctx.redis.exists(this.events)) === 0) {
            throw historyGone(this.runId, this.after)
          }
          this.first = false
          let bytes = 0
          for (const [id, fields] of page) {
            this.last = id
            for (const f of fields) bytes += f.length
            const record = decodeEntry(this.runId, id, fields, this.ctx.onCorrupt)
            if (record) this.push(record)
          }
          if (page.length > 0) this.pageSize = pageEntries(page.length, bytes)
          if (page.length === count) {
            // fetch the next page while the consumer takes this one
            count = this.pageSize
            next = this.fetchPage(this.last, count)
            await this.room()
            if (this.closed) return
          }
        }
        if (this.resync || this.dirty) continue
        // caught up: the messages held meanwhile, then live
        const held = this.held
        this.held = []
        this.heldBytes = 0
        for (const payload of held) this.accept(payload)
        this.live = true
      }
    } catch (err) {
      this.failUnlessClosed(err)
    } finally {
      this.syncing = false
    }
  }

  /**
   * A subscribe or a read failed: the consumer gets the error, unless the follower ended or the
   * store closed meanwhile (its calls then fail with "the store is closed", a Cluster's sooner
   * than the hub tells its followers): then it ends, as every follow open at close() does.
   */
  private failUnlessClosed(err: unknown): void {
    if (this.closed) return
    if (this.ctx.hub.closed) this.cancel()
    else this.fail(err)
  }

  private fetchPage(from: string, count: number): Promise<Array<[string, string[]]> | undefined> {
    const p = retrying(this.stop.signal, () => this.ctx.redis.xrange(this.events, `(${from}`, '+', 'COUNT', count))
    p.catch(() => {}) // awaited by sync; no unhandled rejection if the follower ends first
    return p
  }

  /** Resolves once the consumer took every queued record (or the follower closed). */
  private room(): Promise<void> {
    if (this.head >= this.queue.length || this.closed) return Promise.resolve()
    return new Promise((resolve) => {
      this.kick = resolve
    })
  }

  private wakeReader(): void {
    const k = this.kick
    this.kick = undefined
    k?.()
  }

  private fail(err: unknown): void {
    this.close()
    const w = this.waiters.shift()
    if (w === undefined) this.failure = { err }
    else {
      this.canceled = true
      w.reject(err)
    }
    for (const rest of this.waiters.splice(0)) rest.resolve(DONE)
  }

  /** Returned or aborted: drop what is queued and settle a waiting next() with done. */
  private cancel(): void {
    this.canceled = true
    this.close()
    this.queue = []
    this.head = 0
    for (const w of this.waiters.splice(0)) w.resolve(DONE)
  }

  /** No more events: stop reading, unsubscribe; `settle` also ends a waiting next(). */
  private close(settle = false): void {
    if (!this.closed) {
      this.closed = true
      this.signal?.removeEventListener('abort', this.onAbort)
      this.stop.abort()
      this.wakeReader()
      this.held = []
      this.heldBytes = 0
    }
    if (this.subscribed) {
      this.subscribed = false
      this.ctx.hub.remove(this.channel, this)
    }
    if (settle) for (const w of this.waiters.splice(0)) w.resolve(DONE)
  }
}

/** What a new follower waits past the command timeout for its subscription (see `start`). */
const SUBSCRIBE_GRACE_MS = 1000

/** The error of a follower whose subscription Redis did not confirm in time (`ms`: the command timeout). */
function unsubscribed(runId: string, ms: number): LeanflowError {
  const cause = new Error(`The subscriber connection was not ready within ${ms + SUBSCRIBE_GRACE_MS} ms.`)
  return new LeanflowError(
    'STORE_UNAVAILABLE',
    `follow("${runId}") failed: Redis did not confirm the subscription to the run's live events in time (the store's commandTimeout is ${ms} ms): it is not reachable. Follow again once it is, with \`after\` set to the last event id you got.`,
    { cause },
  )
}

/** How long {@link retrying} goes on retrying a read. */
const RETRY_FOR_MS = 60_000

/**
 * Runs a read, retrying what leaves the store unreachable for a while (Redis restarting, a
 * killed connection, a command timeout, a Cluster failing over: every error `toStoreError`
 * calls `STORE_UNAVAILABLE`) for about a minute (then the last error); `undefined` when aborted.
 */
async function retrying<T>(signal: AbortSignal | undefined, read: () => Promise<T>): Promise<T | undefined> {
  const deadline = Date.now() + RETRY_FOR_MS
  for (let attempt = 1; ; attempt++) {
    try {
      return await read()
    } catch (err) {
      if (Date.now() >= deadline || !isConnectionError(err)) throw err
      await new Promise((r) => setTimeout(r, Math.min(100 * attempt, 1000)))
      if (signal?.aborted) return undefined
    }
  }
}

function isConnectionError(err: unknown): boolean {
  return toStoreError(err, 'follow').code === 'STORE_UNAVAILABLE'
}
