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
 * One shared subscriber connection per store: channels are reference
 * counted (the last follower of a run unsubscribes it, never the first),
 * one `message` listener dispatches by channel, and a dropped connection
 * tells every follower to catch up from the stream once it is subscribed
 * again.
 */
export class SubscriberHub {
  private conn: Redis | undefined
  private connecting: Promise<Redis> | undefined
  private readonly channels = new Map<string, Set<ChannelListener>>()
  private closed = false

  constructor(private readonly open: () => Redis | Promise<Redis>) {}

  /** Subscribes `listener` to `channel`; resolves once Redis confirmed the subscription. */
  async add(channel: string, listener: ChannelListener): Promise<void> {
    if (this.closed) throw new Error('The store is closed: create a new store to follow runs.')
    let set = this.channels.get(channel)
    if (!set) {
      set = new Set()
      this.channels.set(channel, set)
    }
    set.add(listener)
    try {
      const conn = await this.connection()
      // SUBSCRIBE is idempotent: every new follower waits for its own confirmation.
      await conn.subscribe(channel)
    } catch (err) {
      this.remove(channel, listener)
      throw err
    }
  }

  /** Drops `listener`; unsubscribes the channel when it was the last one. */
  remove(channel: string, listener: ChannelListener): void {
    const set = this.channels.get(channel)
    if (!set?.delete(listener) || set.size > 0) return
    this.channels.delete(channel)
    if (this.conn && this.conn.status !== 'end') this.conn.unsubscribe(channel).catch(() => {})
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
