// Live delivery for the Postgres store: one LISTEN connection per store, a doorbell per run.
// NOTIFY is only a doorbell: a follower always reads the rows after the last id it yielded, so a
// lost notification (a dropped connection) costs a catch-up read, never an event.
import { type EventRecord, isLeanflowError } from '@leanflow/core'
import pg from 'pg'

/** The store's LISTEN connection and the followers waiting on it. */
export class PostgresListener {
  readonly #config: pg.ClientConfig
  readonly #channel: string
  readonly #bells = new Map<string, Set<() => void>>()
  #client: pg.Client | undefined
  #connecting: Promise<void> | undefined
  #closed = false
  /** While set, the listener may not connect again (a fault test holds it). */
  #gate: Promise<void> | undefined
  /** How many times the listener connected (the first time included). */
  connects = 0

  constructor(config: pg.ClientConfig, channel: string) {
    this.#config = config
    this.#channel = channel
  }

  /** Resolves once LISTEN is in place (connecting when needed). */
  ready(): Promise<void> {
    if (this.#client) return Promise.resolve()
    this.#connecting ??= this.#connect().finally(() => {
      this.#connecting = undefined
    })
    return this.#connecting
  }

  async #connect(): Promise<void> {
    for (let delay = 50; !this.#closed; delay = Math.min(delay * 2, 1000)) {
      await this.#gate
      const client = new pg.Client(this.#config)
      // listening from the start: a server's goodbye read in the same chunk as the LISTEN's answer
      // comes before the code after the await runs, and with no listener it ended the process
      // (#lost ignores a client that is not the one listening yet)
      let failed = false
      const lost = () => {
        failed = true
        this.#lost(client)
      }
      client.on('error', lost)
      client.on('end', lost)
      try {
        await client.connect()
        await client.query(`LISTEN ${this.#channel}`)
        if (failed) throw new Error('the connection was lost as it began to listen')
      } catch {
        await client.end().catch(() => {})
        await new Promise((r) => setTimeout(r, delay))
        continue
      }
      if (this.#closed) {
        await client.end().catch(() => {})
        return
      }
      client.on('notification', (n) => {
        if (n.payload !== undefined) this.#ring(n.payload)
      })
      this.#client = client
      this.connects++
      // whatever was notified while no connection listened is caught up by a read
      this.#ringAll()
      return
    }
  }

  #lost(client: pg.Client): void {
    if (this.#client !== client) return
    this.#client = undefined
    this.#ringAll()
    if (!this.#closed) void this.ready()
  }

  /** The backend pid of the LISTEN connection (for fault tests), or undefined while disconnected. */
  get pid(): number | undefined {
    return (this.#client as unknown as { processID?: number } | undefined)?.processID
  }

  /** Keeps the listener from connecting until the returned function is called (fault tests). */
  hold(): () => void {
    let open!: () => void
    this.#gate = new Promise<void>((r) => {
      open = r
    })
    return () => {
      this.#gate = undefined
      open()
    }
  }

  listen(runId: string, ring: () => void): () => void {
    let set = this.#bells.get(runId)
    if (!set) this.#bells.set(runId, (set = new Set()))
    set.add(ring)
    return () => {
      set.delete(ring)
      if (set.size === 0 && this.#bells.get(runId) === set) this.#bells.delete(runId)
    }
  }

  #ring(runId: string): void {
    for (const ring of this.#bells.get(runId) ?? []) ring()
  }

  #ringAll(): void {
    for (const set of this.#bells.values()) for (const ring of set) ring()
  }

  get closed(): boolean {
    return this.#closed
  }

  async close(): Promise<void> {
    this.#closed = true
    this.#ringAll()
    const c = this.#client
    this.#client = undefined
    await c?.end().catch(() => {})
  }
}

/** How a follower reads: the rows of `runId` after `after` (all without), at most `limit`. */
export type ReadAfter = (runId: string, after: string | undefined, limit: number) => Promise<EventRecord[]>

const BATCH = 1000
/** How long a follower retries a read that failed for a lost connection. */
const READ_RETRY_MS = 15_000

/**
 * A lost connection, not a refusal: not a LeanflowError, and not an SQLSTATE other than class 08
 * (connection exception) or 57P (the server shutting down): a socket error, a terminated client.
 */
function isConnectionError(err: unknown): boolean {
  if (isLeanflowError(err)) return false
  const code = (err as { code?: unknown } | null)?.code
  const sqlstate = typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && !code.startsWith('E')
  return !sqlstate || code.startsWith('08') || code.startsWith('57P')
}

/**
 * One `follow` iteration: subscribes to the run's doorbell first, then reads after its last
 * id until the rows run out, then waits for the bell. `return()` (a `break`), an aborted signal
 * or the store closing end it at once, even while a `next()` waits.
 */
export class PostgresFollower implements AsyncIterableIterator<EventRecord> {
  #buffer: EventRecord[] = []
  #last: string | undefined
  #started = false
  #done = false
  #rung = true
  #wake: (() => void) | undefined
  #unlisten: (() => void) | undefined
  readonly #ring = () => {
    this.#rung = true
    this.#wake?.()
  }

  constructor(
    private readonly listener: PostgresListener,
    private readonly readAfter: ReadAfter,
    /** Throws HISTORY_GONE when `after` is no position of the run's history (expired, or past its last event). */
    private readonly checkAfter: (after: string) => Promise<void>,
    private readonly runId: string,
    after: string | undefined,
    private readonly signal: AbortSignal | undefined,
  ) {
    this.#last = after
  }

  async next(): Promise<IteratorResult<EventRecord>> {
    if (!this.#started) await this.#start()
    for (;;) {
      if (this.#done || this.signal?.aborted || this.listener.closed) return this.#finish()
      const e = this.#buffer.shift()
      if (e) {
        this.#last = e.id
        return { done: false, value: e }
      }
      if (this.#rung) {
        this.#rung = false
        const rows = await this.#read()
        if (rows.length === BATCH) this.#rung = true
        if (!this.#done) this.#buffer = rows
        continue
      }
      await new Promise<void>((r) => {
        this.#wake = r
      })
      this.#wake = undefined
    }
  }

  /** The next rows; a lost connection (the database restarting) is retried for a while, not thrown. */
  async #read(): Promise<EventRecord[]> {
    const deadline = Date.now() + READ_RETRY_MS
    for (;;) {
      try {
        return await this.readAfter(this.runId, this.#last, BATCH)
      } catch (err) {
        if (Date.now() > deadline || this.#done || this.listener.closed || !isConnectionError(err)) throw err
        await new Promise((r) => setTimeout(r, 100))
      }
    }
  }

  async return(): Promise<IteratorResult<EventRecord>> {
    return this.#finish()
  }

  [Symbol.asyncIterator](): this {
    return this
  }

  async #start(): Promise<void> {
    this.#started = true
    if (this.listener.closed) return // the store closed: next() ends, without a throw
    this.#unlisten = this.listener.listen(this.runId, this.#ring)
    this.signal?.addEventListener('abort', this.#ring)
    try {
      await this.listener.ready()
      // from 0-0 nothing can be gone: a run with no events yet is waited for, as without `after`
      if (this.#last !== undefined && this.#last !== '0-0') await this.checkAfter(this.#last)
    } catch (err) {
      this.#finish()
      throw err
    }
  }

  #finish(): IteratorResult<EventRecord> {
    this.#done = true
    this.#buffer = []
    this.#unlisten?.()
    this.#unlisten = undefined
    this.signal?.removeEventListener('abort', this.#ring)
    this.#wake?.()
    return { done: true, value: undefined }
  }
}
