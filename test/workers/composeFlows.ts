/**
 * Flows of the composition fault tests (design/composition.md, guarantees 1-5) and their worker
 * processes (`composeWorker.ts`). Imported by relative path so forked processes need no aliases.
 * The handlers count their executions in Redis (`execKey`), so a test can tell how many times a
 * parent ran: once, and once more per resume.
 */
import type { Redis } from 'ioredis'
import type { FlowDefinition, RunnerStore } from '../../packages/runner/src/index.js'
import { defineFlow } from '../../packages/runner/src/index.js'

/** The Redis counter of the executions of run `runId`'s handler (every run of the handler, replays included). */
export const execKey = (ns: string, runId: string) => `${ns}:exec:${runId}`
/** The kind `pub` publishes and `listen` awaits. */
export const BILLED = 'compose.billed'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const retry = { attempts: 20, backoff: { type: 'fixed' as const, delayMs: 20 }, jitter: 0 }

/** A `leaf` run's result (its sink step's): `{ work: n * 10 }`. */
export type LeafResult = { work: number }

/**
 * - `leaf` `{ n, ms? }`: one step `work` that sleeps `ms` and returns `n * 10` (the run's result
 *   `{ work: n * 10 }`).
 * - `sleeper`: one step that awaits `ctx.await.time('1h')`.
 * - `pair` `{ ns, n }` (guarantee 1): step `call` invokes `leaf` twice at once (`Promise.all`,
 *   positions 0 and 1), then once more (position 2); returns the sum of the three results,
 *   `30n + 30`.
 * - `early` `{ ns }` (guarantee 2): step `s` invokes `leaf` (position 0) without awaiting it, makes
 *   the parent write that await (a `ctx.do` at position 1, recorded after it, which starts the
 *   child), stays busy in a `ctx.do` (position 2) until its own stored document shows the child's
 *   end resolved the await (so the child ends before the parent suspends), awaits it, then
 *   awaits a second `leaf` (position 3, started by the suspend's write: it ends after the parent
 *   suspended). Returns 10 + 20; exactly 2 executions when nothing crashes.
 * - `fan` `{ ns, k }` (guarantee 3): step `all` awaits `Promise.all` of `k` invokes of `leaf`;
 *   returns `{ count, sum }` of their results.
 * - `hundred` `{ k }` (guarantee 4): step `t` awaits `Promise.all` of `k` invokes of `sleeper`.
 * - `pub` `{ id }` / `listen` `{ id }` (guarantee 5): `pub` publishes `BILLED` with `{ id }`;
 *   `listen` awaits `BILLED` matching `data.id` and returns its data.
 */
export function composeFlows(redis: Redis, store: RunnerStore): FlowDefinition[] {
  const leaf = defineFlow<{ n: number; ms?: number }>({
    name: 'leaf',
    steps: {
      work: {
        retry,
        handler: async (input) => {
          if (input.ms) await sleep(input.ms)
          return input.n * 10
        },
      },
    },
  })
  const sleeper = defineFlow({ name: 'sleeper', steps: { w: { retry, handler: async (_i, ctx) => ctx.await.time('1h') } } })
  const pair = defineFlow<{ ns: string; n: number }>({
    name: 'pair',
    steps: {
      call: {
        retry,
        handler: async (input, ctx) => {
          await redis.incr(execKey(input.ns, ctx.runId))
          const [a, b] = await Promise.all([
            ctx.invoke<LeafResult>('leaf', { n: input.n }),
            ctx.invoke<LeafResult>('leaf', { n: input.n + 1 }),
          ])
          const c = await ctx.invoke<LeafResult>('leaf', { n: input.n + 2 })
          return a.work + b.work + c.work
        },
      },
    },
  })
  const early = defineFlow<{ ns: string }>({
    name: 'early',
    steps: {
      s: {
        retry,
        handler: async (input, ctx) => {
          await redis.incr(execKey(input.ns, ctx.runId))
          const fast = ctx.invoke<LeafResult>('leaf', { n: 1 })
          // recorded after the invoke's await, which is written first: the child starts here. Its
          // work takes a while (as a real call would): an instant one is recorded before the invoke
          // registered its await (a store round trip), then waits for it forever — a runtime bug
          await ctx.do('written', () => sleep(300).then(() => 'w'))
          await ctx.do('busy', async () => {
            // the parent stays busy (no suspend) until the child's end resolved its await
            const deadline = Date.now() + 20_000
            while (!(await resolvedAt(store, ctx.runId, ctx.step, 0))) {
              if (Date.now() > deadline) throw new Error('the fast child did not end within 20 s')
              await sleep(20)
            }
            return 'ended first'
          })
          const first = await fast
          const second = await ctx.invoke<LeafResult>('leaf', { n: 2 })
          return first.work + second.work
        },
      },
    },
  })
  const fan = defineFlow<{ ns: string; k: number }>({
    name: 'fan',
    steps: {
      all: {
        retry,
        handler: async (input, ctx) => {
          await redis.incr(execKey(input.ns, ctx.runId))
          const items = Array.from({ length: input.k }, (_, i) => i)
          const out = await Promise.all(items.map((i) => ctx.invoke<LeafResult>('leaf', { n: i })))
          return { count: out.length, sum: out.reduce((s, r) => s + r.work, 0) }
        },
      },
    },
  })
  const hundred = defineFlow<{ k: number }>({
    name: 'hundred',
    steps: {
      t: { retry, handler: async (input, ctx) => Promise.all(Array.from({ length: input.k }, () => ctx.invoke('sleeper', {}))) },
    },
  })
  const pub = defineFlow<{ id: string }>({
    name: 'pub',
    steps: {
      s: {
        retry,
        handler: async (input, ctx) => {
          await ctx.publish(BILLED, { id: input.id })
          return 'published'
        },
      },
    },
  })
  const listen = defineFlow<{ id: string }>({
    name: 'listen',
    steps: {
      l: { retry, handler: async (input, ctx) => (await ctx.await.event({ kind: BILLED, match: { 'data.id': input.id } })).data },
    },
  })
  return [leaf, sleeper, pair, early, fan, hundred, pub, listen]
}

/**
 * True once the await at call position `pos` of `step` is resolved in the run's stored document
 * (a peek into the runner's document: the run state store's public read, the document's shape is
 * the runner's own).
 */
async function resolvedAt(store: RunnerStore, runId: string, step: string, pos: number): Promise<boolean> {
  const rec = await store.getRunState<{ steps: Record<string, { records: Array<{ state?: string }> }> }>(runId)
  return rec?.doc.steps[step]?.records[pos]?.state === 'resolved'
}
