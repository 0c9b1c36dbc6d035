import type { Redis } from 'ioredis'

/** One follower's view of its channel. */
export interface ChannelListener {
  /** A live message (`"<id> <json>"`). */
  message(payload: string): void
  /** The subscriber connection dropped: messages may have been missed. */
  lost(): void
  /** Subscribed again after a drop: read the stream to catch up. */
  resumed(): void
  /** The store is closing: end the follow. */
  end(): void
}

/**
 * What `follow` needs of the store's subscriptions: reference-counted channels whose
 * listeners hear every live message, and `lost()`/`resumed()` around any moment messages may
 * have been missed. {@link SubscriberHub} (classic pub/sub, one connection) and
 * `ShardedSubscriberHub` (sharded pub/sub on a Cluster, one connection per master) implement it.
 */
export interface LiveHub {
  /**
   * Subscribes `listener` to `channel`; resolves `true` once Redis confirmed the subscription
   * (messages published from then on reach the listener), or `false` (listener dropped) when
   * `signal` aborts first. Throws once the hub is closed.
   */
  add(channel: string, listener: ChannelListener, signal?: AbortSignal): Promise<boolean>
  /** Drops `listener`; unsubscribes the channel when it was the last one. */
  remove(channel: string, listener: ChannelListener): void
  /** Number of subscribed channels (for tests and metrics). */
  readonly size: number
  /** True once `close()` was called: a follow starting then ends at once, as one open at close() does. */
  readonly closed: boolean
  /** Ends every listener (`end()`) and closes the connections. */
  close(): Promise<void>
}

/**
 * One shared subscriber connection per store: channels are reference
 * counted (the last follower of a run unsubscribes it, never the first),
 * one `message` listener dispatches by channel, and a dropped connection
 * tells every follower to catch up from the stream once it is subscribed
 * again.
 */
export class SubscriberHub implements LiveHub {
  private conn: Redis | undefined
  private connecting: Promise<Redis> | undefined
  private readyWait: Promise<void> | undefined
  private readonly channels = new Map<string, Set<ChannelListener>>()
  /** True once `close()` was called (LiveHub). */
  closed = false

  constructor(private readonly open: () => Redis | Promise<Redis>) {}

  /**
   * Subscribes `listener` to `channel`; resolves `true` once Redis confirmed
   * the subscription, or `false` (listener dropped) when `signal` aborts
   * first, e.g. while the connection is down.
   */
  async add(channel: string, listener: ChannelListener, signal?: AbortSignal): Promise<boolean> {
    if (this.closed) throw new Error('The store is closed: create a new store to follow runs.')
    let set = this.channels.get(channel)
    if (!set) {
      set = new Set()
      this.channels.set(channel, set)
    }
    set.add(listener)
    const abort = abortion(signal)
    try {
      const conn = await Promise.race([this.connection(), abort.promise])
      if (conn === ABORTED || !(await this.ready(conn, abort.promise))) {
        this.remove(channel, listener)
        return false
      }
      if (this.closed) throw new Error('The store is closed: create a new store to follow runs.')
      // SUBSCRIBE is idempotent: every new follower waits for its own confirmation. When the
      // follower gives up first, a later UNSUBSCRIBE (see remove) still follows this SUBSCRIBE.
      const subscribed = conn.subscribe(channel)
      subscribed.catch(() => {})
      if ((await Promise.race([subscribed, abort.promise])) === ABORTED) {
        this.remove(channel, listener)
        return false
      }
      return true
    } catch (err) {
      this.remove(channel, listener)
      throw err
    } finally {
      abort.dispose()
    }
  }

  /** Drops `listener`; unsubscribes the channel when it was the last one. */
  remove(channel: string, listener: ChannelListener): void {
    const set = this.channels.get(channel)
    if (!set?.delete(listener) || set.size > 0) return
    this.channels.delete(channel)
    const conn = this.conn
    if (!conn) return
    void this.unsubscribe(conn, channel)
  }

  /** UNSUBSCRIBEs `channel` on a ready connection, unless a follower of the run started meanwhile. */
  private async unsubscribe(conn: Redis, channel: string): Promise<void> {
    try {
      for (;;) {
        await this.ready(conn)
        if (this.channels.has(channel) || this.closed) return
        if (conn.status === 'ready') return void (await conn.unsubscribe(channel))
      }
    } catch {
      // the connection ended (store closed): nothing to unsubscribe
    }
  }

  /** Number of subscribed channels (for tests and metrics). */
  get size(): number {
    return this.channels.size
  }

  async close(): Promise<void> {
    this.closed = true
    for (const set of this.channels.values()) for (const l of set) l.end()
    this.channels.clear()
    const conn = this.conn ?? (await this.connecting?.catch(() => undefined))
    this.conn = undefined
    if (conn) await conn.quit().catch(() => conn.disconnect())
  }

  /**
   * Resolves when `conn` is ready, checked synchronously before it resolves,
   * so the caller's next command is written to a ready connection.
   *
   * Why: ioredis writes SUBSCRIBE/UNSUBSCRIBE (flagged `loading`) straight to
   * the socket while a connection is still in its handshake (status
   * `connect`). A SUBSCRIBE confirmed there puts the connection in subscriber
   * mode before ioredis's ready check sends INFO; the check then fails
   * ("Connection in subscriber mode" or Redis's "Can't execute 'info'"),
   * ioredis rejects every pending SUBSCRIBE with it and reconnects, and the
   * followers that were subscribing throw. A channel unsubscribed there would
   * also be subscribed again by ioredis's own re-subscribe on ready.
   */
  private async ready(conn: Redis, aborted?: Promise<typeof ABORTED>): Promise<boolean> {
    while (conn.status !== 'ready') {
      if (conn.status === 'end' || this.closed) throw new Error('The subscriber connection is closed.')
      this.readyWait ??= new Promise<void>((resolve) => {
        const settle = () => {
          conn.off('ready', settle)
          conn.off('end', settle)
          this.readyWait = undefined
          resolve()
        }
        conn.on('ready', settle)
        conn.on('end', settle)
      })
      if ((await (aborted ? Promise.race([this.readyWait, aborted]) : this.readyWait)) === ABORTED) return false
    }
    return true
  }

  private connection(): Promise<Redis> {
    this.connecting ??= Promise.resolve(this.open()).then((conn) => this.attach(conn))
    this.connecting.catch(() => {
      this.connecting = undefined
    })
    return this.connecting
  }

  private attach(conn: Redis): Redis {
    if (this.closed) {
      conn.disconnect()
      throw new Error('The store is closed: create a new store to follow runs.')
    }
    let dropped = false
    conn.on('message', (channel: string, payload: string) => {
      const set = this.channels.get(channel)
      if (set) for (const l of set) l.message(payload)
    })
    conn.on('close', () => {
      if (this.closed || dropped) return
      dropped = true
      for (const set of this.channels.values()) for (const l of set) l.lost()
    })
    conn.on('ready', () => {
      if (!dropped || this.closed) return
      dropped = false
      const names = [...this.channels.keys()]
      const done = () => {
        for (const set of this.channels.values()) for (const l of set) l.resumed()
      }
      // ioredis re-subscribes by itself; our own SUBSCRIBE's reply proves the subscriptions are active again.
      if (names.length === 0) done()
      else conn.subscribe(...names).then(done, () => conn.disconnect(true))
    })
    conn.on('error', () => {
      // reconnects are ioredis's job; errors surface to followers as lost()/resumed()
    })
    this.conn = conn
    return conn
  }
}

export const ABORTED = Symbol('aborted')

/** A promise of `ABORTED` once `signal` aborts (never without one); `dispose` drops its listener. */
export function abortion(signal: AbortSignal | undefined): { promise: Promise<typeof ABORTED>; dispose: () => void } {
  if (!signal) return { promise: new Promise(() => {}), dispose: () => {} }
  if (signal.aborted) return { promise: Promise.resolve(ABORTED), dispose: () => {} }
  let onAbort = () => {}
  const promise = new Promise<typeof ABORTED>((resolve) => {
    onAbort = () => resolve(ABORTED)
    signal.addEventListener('abort', onAbort, { once: true })
  })
  return { promise, dispose: () => signal.removeEventListener('abort', onAbort) }
}
