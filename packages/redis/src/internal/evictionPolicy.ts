import type { RedisClient } from './script.js'

/**
 * Asks Redis its `maxmemory-policy` once the connection is ready, and calls `warn` when it is not
 * `noeviction`: an evicting Redis drops a run's log or state to make room, and the run is lost
 * without an error. A server that refuses `CONFIG` (managed Redis) is not asked again and not
 * warned about.
 *
 * @example
 * ```ts
 * checkEvictionPolicy(redis, 'redis://cache:6379', console.warn)
 * ```
 */
export function checkEvictionPolicy(redis: RedisClient, where: string, warn: (message: string) => void): void {
  const ask = () => {
    ;(redis.config('GET', 'maxmemory-policy') as Promise<unknown>).then(
      (reply) => {
        const policy = Array.isArray(reply) ? reply[1] : undefined
        if (typeof policy !== 'string' || policy === 'noeviction') return
        warn(
          `[leanflow/redis] Redis at ${where} has maxmemory-policy "${policy}": it evicts keys when full, and an evicted key is a lost run or a lost event. ` +
            'Set `maxmemory-policy noeviction` (redis.conf, or CONFIG SET maxmemory-policy noeviction); leanflow then fails writes with STORE_FULL instead.',
        )
      },
      () => {}, // CONFIG refused (managed Redis) or the connection went: nothing to tell
    )
  }
  if (redis.status === 'ready') ask()
  else redis.once('ready', ask)
}
