import { type Redis, ReplyError } from 'ioredis'
import { beforeScripts, type Script } from './script.js'

/** Appends per batched script call (each append's ARGV are 13 strings: far from Lua's limits). */
const MAX_BATCH = 64

interface Pending {
  keys: string[]
  args: Array<string | number>
  resolve(reply: unknown): void
  reject(err: unknown): void
}

/**
 * Sends the appends issued in one tick (many runs' appends, as concurrent runs issue them) as
 * one batched script call per {@link MAX_BATCH}, on a standalone Redis: each append still runs
 * atomically and idempotently on its own inside the script, and each caller gets its own reply
 * or error. A lone append goes as the plain append script (one round trip, as before: its
 * latency does not change). Order on the connection is kept: every other script call of this
 * connection sends the waiting appends first (`beforeScripts`), and batches go in call order.
 */
export class AppendBatcher {
  private pending: Pending[] = []
  private scheduled = false

  constructor(
    private readonly redis: Redis,
    private readonly single: Script,
    private readonly batch: Script,
  ) {
    // several stores may share one client: each registers its own flush
    const set = beforeScripts.get(redis) ?? new Set()
    set.add(() => this.flush())
    beforeScripts.set(redis, set)
  }

  /** The append script's reply for these KEYS and ARGV (lua/append.ts). */
  call(keys: string[], args: Array<string | number>): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.pending.push({ keys, args, resolve, reject })
      if (!this.scheduled) {
        this.scheduled = true
        process.nextTick(this.onTick)
      }
    })
  }

  private readonly onTick = (): void => {
    this.scheduled = false
    this.flush()
  }

  /** Sends every waiting append now. */
  flush(): void {
    const all = this.pending
    if (all.length === 0) return
    this.pending = []
    for (let i = 0; i < all.length; i += MAX_BATCH) this.send(all.length <= MAX_BATCH ? all : all.slice(i, i + MAX_BATCH))
  }

  private send(group: Pending[]): void {
    if (group.length === 1) {
      const p = group[0]!
      this.single.call(this.redis, p.keys, p.args).then(p.resolve, p.reject)
      return
    }
    const keys: string[] = []
    const args: Array<string | number> = [group.length]
    for (const p of group) {
      for (const k of p.keys) keys.push(k)
      args.push(p.keys.length, p.args.length)
      for (const a of p.args) args.push(a)
    }
    this.batch.call(this.redis, keys, args).then(
      (replies) => {
        const list = replies as unknown[]
        for (let i = 0; i < group.length; i++) {
          const r = list[i] as [number, unknown] | undefined
          if (r?.[0] === -9)
            group[i]!.reject(new ReplyError(String(r[1]))) // as ioredis gives a script's error
          else group[i]!.resolve(r)
        }
      },
      (err: unknown) => {
        for (const p of group) p.reject(err)
      },
    )
  }
}
