import { createHash } from 'node:crypto'
import type { Cluster, Redis } from 'ioredis'
import { isCluster } from './connections.js'

/** A Redis client the store can use: a standalone connection or a Cluster. */
export type RedisClient = Redis | Cluster

/**
 * A Lua script loaded once and called with EVALSHA (one round trip); on
 * `NOSCRIPT` (a restarted or failed-over server) it falls back to EVAL,
 * which loads it again. Works on Cluster: ioredis routes EVALSHA by its
 * first key.
 */
export interface Script {
  readonly sha: string
  call(redis: RedisClient, keys: string[], args: Array<string | number>): Promise<unknown>
}

/** Wraps a Lua source as a {@link Script}. */
export function defineScript(lua: string): Script {
  const sha = createHash('sha1').update(lua).digest('hex')
  return {
    sha,
    async call(redis, keys, args) {
      coalesceWrites(redis)
      // one array, never spread into the call: a batch append of thousands of events has more
      // arguments than a JavaScript call takes (ioredis flattens it)
      const argv = (keys as Array<string | number>).concat(args) as string[]
      try {
        return await redis.evalsha(sha, keys.length, argv)
      } catch (err) {
        if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err
        return redis.eval(lua, keys.length, argv)
      }
    },
  }
}

type Corkable = { cork(): void; uncork(): void }
/** Commands written into each corked socket in this tick. */
const corked = new WeakMap<Corkable, number>()
const BATCH = 16

/**
 * Coalesces the commands written in one tick (the appends that concurrent
 * runs issue together) into few socket writes: the socket is corked at the
 * first one, flushed every BATCH commands (so Redis starts on them while
 * this process writes the rest) and after the current microtasks. ioredis
 * writes each command on its own otherwise, one syscall each;
 * `enableAutoPipelining` batches too but costs more per call. Standalone
 * connections only. Called before every script, and before the plain reads
 * that go out beside one (the store's clock, the external-event position:
 * an invoke asks the child's position in the tick of its parent's suspend).
 *
 * @example
 * ```ts
 * coalesceWrites(redis)
 * const seq = await redis.get(key) // written with the rest of this tick's commands
 * ```
 */
export function coalesceWrites(redis: RedisClient): void {
  if (isCluster(redis) || redis.status !== 'ready') return
  const socket = (redis as Redis & { stream?: Corkable }).stream
  if (!socket) return
  const n = corked.get(socket)
  if (n === undefined) {
    corked.set(socket, 1)
    socket.cork()
    process.nextTick(() => {
      corked.delete(socket)
      socket.uncork()
    })
  } else if (n >= BATCH) {
    // flush what this tick wrote so far, keep corking the rest
    socket.uncork()
    socket.cork()
    corked.set(socket, 1)
  } else corked.set(socket, n + 1)
}
