import type { Cluster, Redis } from 'ioredis'
import { isCluster } from './connections.js'
import type { RedisClient } from './script.js'

/** Clients checked already: many stores on one client (one per tenant prefix) warn once. */
const checked = new WeakSet<object>()

/**
 * Asks Redis its `maxmemory-policy` once the connection is ready (on a Cluster, every master),
 * and calls `warn` once per client when a node does not use `noeviction`: an evicting Redis drops
 * a run's log or state to make room, and the run is lost without an error. A server that refuses
 * `CONFIG` (managed Redis) is not warned about. Answers a function that drops the wait for the
 * connection (the store's `close()`).
 *
 * @example
 * ```ts
 * const stop = checkEvictionPolicy(redis, 'redis://cache:6379', console.warn)
 * ```
 */
export function checkEvictionPolicy(redis: RedisClient, where: string, warn: (message: string) => void): () => void {
  if (checked.has(redis)) return () => {}
  checked.add(redis)
  const ask = () => {
    const nodes: Array<Redis | Cluster> = isCluster(redis) ? redis.nodes('master') : [redis]
    Promise.all(nodes.map((n) => (n.config('GET', 'maxmemory-policy') as Promise<unknown>).catch(() => undefined))).then(
      (replies) => {
        const policy = replies.map((r) => (Array.isArray(r) ? r[1] : undefined)).find((p) => typeof p === 'string' && p !== 'noeviction')
        if (typeof policy !== 'string') return
        const node = isCluster(redis) ? ' (a node of the Cluster)' : ''
        warn(
          `[leanflow/redis] Redis at ${where}${node} has maxmemory-policy "${policy}": it evicts keys when full, and an evicted key is a lost run or a lost event. ` +
            'Set `maxmemory-policy noeviction` (redis.conf, or CONFIG SET maxmemory-policy noeviction); leanflow then fails writes with STORE_FULL instead.',
        )
      },
      () => {},
    )
  }
  if (redis.status === 'ready') {
    ask()
    return () => {}
  }
  redis.once('ready', ask)
  return () => {
    redis.off('ready', ask)
    // not asked: a later store on the client asks
    checked.delete(redis)
  }
}
