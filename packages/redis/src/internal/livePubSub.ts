import type { Cluster } from 'ioredis'
import { clusterReady, isCluster, openSubscriber } from './connections.js'
import { defineScript, type RedisClient, type Script } from './script.js'
import { ShardedSubscriberHub } from './shardedSubscriberHub.js'
import { ABORTED, abortion, type ChannelListener, type LiveHub, SubscriberHub } from './subscriberHub.js'

/** A Lua script that publishes live events, in its two variants: PUBLISH and SPUBLISH. */
export interface LiveScript {
  readonly classic: Script
  readonly sharded: Script
}

const PUBLISH_CALL = "redis.call('PUBLISH', "

/**
 * Wraps a Lua source with one `redis.call('PUBLISH', …)` as a {@link LiveScript}: the sharded
 * variant is the same script with SPUBLISH (the channel shares the run's hash tag, so it is in
 * the slot of the script's keys, as SPUBLISH in a script requires on a Cluster).
 */
export function defineLiveScript(lua: string): LiveScript {
  const at = lua.indexOf(PUBLISH_CALL)
  if (at < 0 || lua.indexOf(PUBLISH_CALL, at + 1) >= 0) {
    throw new Error(`A live script must have exactly one ${PUBLISH_CALL}…) call (its sharded variant SPUBLISHes instead); got:\n${lua}`)
  }
  return { classic: defineScript(lua), sharded: defineScript(lua.replace(PUBLISH_CALL, "redis.call('SPUBLISH', ")) }
}

/**
 * How the store publishes and subscribes live events.
 *
 * - A standalone Redis: classic PUBLISH/SUBSCRIBE over one subscriber
 *   connection (`sharded` is `false` at once). SPUBLISH works there too (Redis
 *   ≥ 7) but gains nothing on one node, and classic keeps Redis 6 working.
 * - A Cluster whose masters all have sharded pub/sub (Redis ≥ 7): SPUBLISH in
 *   the append script and SSUBSCRIBE on the master owning the run's slot
 *   ({@link ShardedSubscriberHub}), so a message goes to one shard instead of
 *   every node, and subscriptions follow their slot through failovers.
 * - An older Cluster: classic pub/sub, one subscriber connection to one node.
 *
 * On a Cluster the mode is found once, by asking each master for `PUBSUB
 * SHARDNUMSUB` (a Redis 7 command), before the first append or follow.
 */
export interface LivePubSub {
  /** The subscriptions `follow` uses. */
  readonly hub: LiveHub
  /** Whether appends SPUBLISH; `undefined` until {@link detect} has answered. */
  readonly sharded: boolean | undefined
  /** Finds out once (rejecting while the cluster cannot be reached) whether the live channel is sharded. */
  detect(): Promise<boolean>
  /** Runs the variant of `script` that publishes the way the subscribers listen (no extra await once known). */
  call(script: LiveScript, keys: string[], args: Array<string | number>): Promise<unknown>
}

/** The live pub/sub of a store on `redis`; its subscriber connections are named `connectionName`. */
export function createLivePubSub(redis: RedisClient, connectionName: string): LivePubSub {
  if (!isCluster(redis)) {
    const hub = new SubscriberHub(() => openSubscriber(redis, connectionName))
    return { hub, sharded: false, detect: async () => false, call: (script, keys, args) => script.classic.call(redis, keys, args) }
  }
  let sharded: boolean | undefined
  let detecting: Promise<boolean> | undefined
  const detect = () => {
    detecting ??= shardedPubSub(redis).then(
      (yes) => (sharded = yes),
      (err: unknown) => {
        detecting = undefined
        throw err
      },
    )
    return detecting
  }
  const hub = new DeferredHub(async () =>
    (await detect()) ? new ShardedSubscriberHub(redis, connectionName) : new SubscriberHub(() => openSubscriber(redis, connectionName)),
  )
  return {
    hub,
    get sharded() {
      return sharded
    },
    detect,
    call(script, keys, args) {
      if (sharded !== undefined) return (sharded ? script.sharded : script.classic).call(redis, keys, args)
      return detect().then((yes) => (yes ? script.sharded : script.classic).call(redis, keys, args))
    },
  }
}

/** True when every master of `cluster` answers `PUBSUB SHARDNUMSUB` (Redis ≥ 7). */
async function shardedPubSub(cluster: Cluster): Promise<boolean> {
  await clusterReady(cluster)
  const masters = cluster.nodes('master')
  if (masters.length === 0) throw new Error('The Redis Cluster has no master in its slot map yet; retry once it is up.')
  const answers = await Promise.all(
    masters.map((node) =>
      node.call('PUBSUB', 'SHARDNUMSUB').then(
        () => true,
        (err: unknown) => {
          // an older server ("unknown subcommand"), or an ACL that forbids it: classic pub/sub
          if (err instanceof Error && /unknown (sub)?command|NOPERM/i.test(err.message)) return false
          throw err
        },
      ),
    ),
  )
  return answers.every(Boolean)
}

const CLOSED = 'The store is closed: create a new store to follow runs.'

/** A hub chosen on first use: the first `add` waits for the choice (retrying while the cluster is unreachable). */
class DeferredHub implements LiveHub {
  private inner: LiveHub | undefined
  private choosing: Promise<LiveHub> | undefined
  /** True once `close()` was called (LiveHub). */
  closed = false

  constructor(private readonly choose: () => Promise<LiveHub>) {}

  async add(channel: string, listener: ChannelListener, signal?: AbortSignal): Promise<boolean> {
    const hub = this.inner ?? (await this.pick(signal))
    return hub === undefined ? false : hub.add(channel, listener, signal)
  }

  remove(channel: string, listener: ChannelListener): void {
    this.inner?.remove(channel, listener)
  }

  get size(): number {
    return this.inner?.size ?? 0
  }

  async close(): Promise<void> {
    this.closed = true
    const inner = this.inner ?? (await this.choosing?.catch(() => undefined))
    await inner?.close()
  }

  /** The chosen hub, or `undefined` when `signal` aborts first. */
  private async pick(signal: AbortSignal | undefined): Promise<LiveHub | undefined> {
    const abort = abortion(signal)
    try {
      for (let attempt = 1; ; attempt++) {
        if (this.closed) throw new Error(CLOSED)
        this.choosing ??= this.choose().then((hub) => {
          this.inner = hub
          return hub
        })
        try {
          const hub = await Promise.race([this.choosing, abort.promise])
          if (hub === ABORTED) return undefined
          if (this.closed) throw new Error(CLOSED)
          return hub
        } catch (err) {
          if (this.closed) throw err
          this.choosing = undefined // the cluster could not be reached: ask again
          const wait = new Promise((r) => setTimeout(r, Math.min(100 * attempt, 1000)))
          if ((await Promise.race([wait, abort.promise])) === ABORTED) return undefined
        }
      }
    } finally {
      abort.dispose()
    }
  }
}
