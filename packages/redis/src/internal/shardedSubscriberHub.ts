import { type Cluster, Redis } from 'ioredis'
import { nodeOptions } from './connections.js'
import { keySlot } from './slot.js'
import { ABORTED, abortion, type ChannelListener, type LiveHub } from './subscriberHub.js'

/** One subscriber connection to one master of the cluster. */
interface Shard {
  /** `"host:port"`, as in the cluster's slot map. */
  readonly node: string
  readonly conn: Redis
  /** Channels subscribed here, or being subscribed. */
  readonly channels: Set<Channel>
  /** Resolves once the connection is ready (never when it closes first: race it with `gone`). */
  readonly ready: Promise<void>
  /** Rejects once the connection is gone. */
  readonly gone: Promise<never>
  wasReady: boolean
  down: boolean
}

/** One run's channel and its followers. */
interface Channel {
  readonly name: string
  readonly slot: number
  readonly listeners: Set<ChannelListener>
  /** Where it is subscribed, or being subscribed; `undefined` while it waits to be routed. */
  shard: Shard | undefined
  /** Redis confirmed the subscription on `shard`, which is still up. */
  subscribed: boolean
  /** Its listeners were told `lost()`: they hear `resumed()` once it is subscribed again. */
  lost: boolean
  /** `add()` calls waiting for the confirmation. */
  readonly waiters: Set<() => void>
}

const CLOSED = 'The store is closed: create a new store to follow runs.'

/**
 * Sharded pub/sub on a Redis Cluster (Redis ≥ 7): a shard channel lives on the
 * master owning its slot (the run's hash tag), so each run's channel is
 * SSUBSCRIBEd on that master, over one subscriber connection per master
 * (opened when it first serves a channel), and the append script SPUBLISHes
 * to the run's shard only.
 *
 * A connection that drops (killed, or its master failed), a MOVED reply, or
 * a `sunsubscribe` Redis pushes on its own (the slot migrated, the master was
 * demoted) tells the channels' followers `lost()`, refreshes the cluster's
 * slot map and subscribes the channels again on whichever master owns their
 * slot now (the promoted replica after a failover), retrying with backoff
 * while no master serves the slot; then `resumed()`, and each follower
 * catches up from the stream. Connections here never reconnect by
 * themselves: routing again is how they come back.
 */
export class ShardedSubscriberHub implements LiveHub {
  private readonly channels = new Map<string, Channel>()
  private readonly shards = new Map<string, Shard>()
  /** Channels waiting to be routed again. */
  private readonly pending = new Set<Channel>()
  private timer: ReturnType<typeof setTimeout> | undefined
  /** Rounds of routing that failed in a row (sets the backoff; 0 after a success). */
  private failures = 0
  /** A subscription failed since the last round was scheduled. */
  private failed = false
  /** True once `close()` was called (LiveHub). */
  closed = false

  constructor(
    private readonly cluster: Cluster,
    private readonly connectionName: string,
  ) {}

  async add(name: string, listener: ChannelListener, signal?: AbortSignal): Promise<boolean> {
    if (this.closed) throw new Error(CLOSED)
    let ch = this.channels.get(name)
    if (!ch) {
      ch = { name, slot: keySlot(name), listeners: new Set(), shard: undefined, subscribed: false, lost: false, waiters: new Set() }
      this.channels.set(name, ch)
    }
    ch.listeners.add(listener)
    // confirmed on a connection that has not dropped since: in effect now
    if (ch.subscribed) return true
    if (ch.shard === undefined && !this.pending.has(ch)) void this.subscribe(ch)
    const abort = abortion(signal)
    let wake = () => {}
    const confirmed = new Promise<void>((resolve) => {
      wake = resolve
    })
    ch.waiters.add(wake)
    try {
      if ((await Promise.race([confirmed, abort.promise])) === ABORTED) {
        this.remove(name, listener)
        return false
      }
      if (this.closed) throw new Error(CLOSED)
      return true
    } finally {
      ch.waiters.delete(wake)
      abort.dispose()
    }
  }

  remove(name: string, listener: ChannelListener): void {
    const ch = this.channels.get(name)
    if (this.closed || !ch?.listeners.delete(listener) || ch.listeners.size > 0) return
    this.channels.delete(name)
    this.pending.delete(ch)
    const shard = ch.shard
    this.detach(ch)
    // an SSUBSCRIBE is only ever sent on a ready connection: this SUNSUBSCRIBE follows it
    if (shard && !shard.down && shard.conn.status === 'ready') shard.conn.sunsubscribe(name).catch(() => {})
  }

  get size(): number {
    return this.channels.size
  }

  async close(): Promise<void> {
    this.closed = true
    clearTimeout(this.timer)
    for (const ch of [...this.channels.values()]) {
      for (const l of [...ch.listeners]) l.end()
      for (const w of ch.waiters) w()
    }
    this.channels.clear()
    this.pending.clear()
    const shards = [...this.shards.values()]
    this.shards.clear()
    await Promise.all(
      shards.map((s) => {
        s.down = true
        return s.conn.quit().catch(() => s.conn.disconnect())
      }),
    )
  }

  /** Subscribes `ch` on the master owning its slot (by the cluster's slot map); on failure, queues it to be routed again. */
  private async subscribe(ch: Channel): Promise<void> {
    const node = this.cluster.slots[ch.slot]?.[0]
    if (node === undefined) return this.retry(ch, true)
    let shard = this.shards.get(node)
    if (!shard || shard.down) shard = this.open(node)
    ch.shard = shard
    shard.channels.add(ch)
    try {
      await Promise.race([shard.ready, shard.gone])
      if (ch.shard !== shard) return // removed meanwhile
      await Promise.race([shard.conn.ssubscribe(ch.name), shard.gone])
    } catch {
      // The connection went down (its channels are queued again by `down`), or the node refused:
      // CLUSTERDOWN while a failover is under way, or a MOVED (the slot map was stale).
      if (ch.shard !== shard) return
      this.detach(ch)
      return this.retry(ch, true)
    }
    if (ch.shard !== shard) return
    ch.subscribed = true
    this.failures = 0
    if (ch.lost) {
      ch.lost = false
      for (const l of [...ch.listeners]) l.resumed()
    }
    for (const w of ch.waiters) w()
  }

  private detach(ch: Channel): void {
    ch.shard?.channels.delete(ch)
    ch.shard = undefined
    ch.subscribed = false
  }

  private retry(ch: Channel, failed: boolean): void {
    if (this.closed || this.channels.get(ch.name) !== ch) return
    if (failed) this.failed = true
    this.pending.add(ch)
    this.schedule()
  }

  /** Routes the pending channels again, at once after a drop, with a growing delay (≤ 1 s) after failures. */
  private schedule(): void {
    if (this.timer !== undefined || this.closed || this.pending.size === 0) return
    if (this.failed) {
      this.failed = false
      this.failures++
    }
    const delay = this.failures === 0 ? 0 : Math.min(25 * 2 ** this.failures, 1000)
    this.timer = setTimeout(() => void this.reroute(), delay)
  }

  private async reroute(): Promise<void> {
    // a failover or a migration changed the slot owners: ask the cluster first
    await new Promise<void>((resolve) => this.cluster.refreshSlotsCache(() => resolve()))
    this.timer = undefined
    if (this.closed) return
    const todo = [...this.pending]
    this.pending.clear()
    for (const ch of todo) if (this.channels.get(ch.name) === ch && ch.shard === undefined) void this.subscribe(ch)
  }

  /** Opens the subscriber connection to `node`; it never reconnects by itself (see the class comment). */
  private open(node: string): Shard {
    const conn = new Redis({
      ...nodeOptions(this.cluster, node, this.connectionName),
      retryStrategy: () => null,
      autoResubscribe: false,
      autoResendUnfulfilledCommands: false,
    })
    let gone: (err: Error) => void = () => {}
    const shard: Shard = {
      node,
      conn,
      channels: new Set(),
      ready: new Promise<void>((resolve) =>
        conn.once('ready', () => {
          shard.wasReady = true
          resolve()
        }),
      ),
      gone: new Promise<never>((_, reject) => {
        gone = reject
      }),
      wasReady: false,
      down: false,
    }
    shard.gone.catch(() => {})
    const down = () => {
      if (shard.down) return
      gone(new Error(`The subscriber connection to ${node} is gone.`))
      this.down(shard)
    }
    conn.on('smessage', (channel: string, payload: string) => {
      const ch = this.channels.get(channel)
      if (ch) for (const l of ch.listeners) l.message(payload)
    })
    conn.on('close', down)
    conn.on('end', down)
    // ioredis emits `moved` on a MOVED reply to SSUBSCRIBE (ioredis 5 never settles that command)
    // and, in ioredis 6, on a `sunsubscribe` pushed by Redis when the slot left this master
    conn.on('moved', down)
    conn.on('error', (err: Error) => {
      // ioredis 5 has no handler for a pushed `sunsubscribe`: it takes it for the reply of the
      // command at the head of its queue and reports a queue error. The connection cannot be
      // trusted any more: route its channels again.
      if (/Command queue state error/.test(err.message)) down()
    })
    this.shards.set(node, shard)
    return shard
  }

  /** The connection is gone: its followers may miss messages until their channels are subscribed again. */
  private down(shard: Shard): void {
    shard.down = true
    if (this.shards.get(shard.node) === shard) this.shards.delete(shard.node)
    shard.conn.disconnect()
    if (this.closed) return
    if (!shard.wasReady) this.failed = true // could not even connect (a dead master): back off
    const channels = [...shard.channels]
    shard.channels.clear()
    for (const ch of channels) {
      ch.shard = undefined
      ch.subscribed = false
      if (!ch.lost) {
        ch.lost = true
        for (const l of [...ch.listeners]) l.lost()
      }
      this.pending.add(ch)
    }
    this.schedule()
  }
}
