/**
 * Flows and analyses of bench/flowControl.ts, shared by its main process and its worker processes
 * (which must define the same flows).
 *
 * - `overheadFlows()`: chains of 1 and 5 no-op steps, each without limits (`oh-none-<n>`), with a
 *   concurrency limit that never binds (`oh-conc-<n>`, `limit: 10000`) and with a rate limit that
 *   never binds (`oh-rate-<n>`, 1,000,000 per second).
 * - `serialFlows(redis, workMs)`: one step that enters its key's counter, works `workMs` and
 *   leaves, with `concurrency: { limit: 1, key }` (`ser-keyed`) and without (`ser-free`). The
 *   counter's most concurrent value per key is kept by a Lua script (`maxKey`), so a broken limit
 *   shows from inside the handlers.
 * - `ratedFlow(limit, periodMs)`: `rated`, one no-op step behind `rateLimit: { limit, period }`.
 * - `windowStats`: windows over the limit and admission lateness from admission times.
 * - `keyOverlaps`: per key, run intervals (first `step.started` to `flow.completed`) that overlap.
 * - `counter`, `countingQueue`, `commandStats`, `perRun`: completions awaited without polling, jobs
 *   handled by name, Redis commands per run (INFO commandstats).
 *
 * @example
 * ```ts
 * const flows = [...overheadFlows(), ...serialFlows(redis, 5), ratedFlow(50, 1000)]
 * const stats = windowStats(admissionTimesMs, 50, 1000)
 * ```
 */
import type { EventRecord, JobQueue } from '@leanflow/core'
import { defineFlow, type FlowDefinition } from '@leanflow/runner'
import type { Redis } from 'ioredis'
import { summarize } from './bullmqBaselines.js'

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

/** The shapes measured for the overhead of a limit that never binds (steps per run). */
export const SHAPES = [1, 5] as const
/** The overhead variants: no limit, a concurrency limit of 10,000, a rate limit of 1,000,000 per second. */
export const VARIANTS = ['none', 'conc', 'rate'] as const
export type Variant = (typeof VARIANTS)[number]

/** The chains of no-op steps, one flow per variant and shape: `oh-<variant>-<steps>`. */
export function overheadFlows(): FlowDefinition[] {
  const flows: FlowDefinition[] = []
  for (const n of SHAPES) {
    const steps: Record<string, { needs?: string[]; handler: () => Promise<null> }> = {}
    for (let i = 0; i < n; i++) steps[`s${i}`] = { needs: i === 0 ? [] : [`s${i - 1}`], handler: async () => null }
    flows.push(defineFlow({ name: `oh-none-${n}`, steps }))
    flows.push(defineFlow({ name: `oh-conc-${n}`, concurrency: { limit: 10_000 }, steps }))
    flows.push(defineFlow({ name: `oh-rate-${n}`, rateLimit: { limit: 1_000_000, period: '1s' }, steps }))
  }
  return flows
}

/** The Redis counter of the handlers of key `key` running now, and the hash of each key's most. */
export const nowKey = (ns: string, key: string) => `${ns}:now:${key}`
export const maxKey = (ns: string) => `${ns}:max`

// INCR the key's counter and keep its most in a hash field: the most concurrent handlers seen
const ENTER_LUA = `local c = redis.call('INCR', KEYS[1])
local m = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
if c > m then redis.call('HSET', KEYS[2], ARGV[1], c) end
return c`

export interface SerialInput {
  ns: string
  key: string
}

/** `ser-keyed` (`limit: 1` per `input.key`) and `ser-free` (no limit): the same one-step handler. */
export function serialFlows(redis: Redis, workMs: number): FlowDefinition[] {
  const handler = async (input: SerialInput) => {
    await redis.eval(ENTER_LUA, 2, nowKey(input.ns, input.key), maxKey(input.ns), input.key)
    if (workMs > 0) await sleep(workMs)
    await redis.decr(nowKey(input.ns, input.key))
    return null
  }
  return [
    defineFlow<SerialInput>({ name: 'ser-keyed', concurrency: { limit: 1, key: (input) => input.key }, steps: { work: { handler } } }),
    defineFlow<SerialInput>({ name: 'ser-free', steps: { work: { handler } } }),
  ]
}

/** `rated`: one no-op step, at most `limit` admissions in any `periodMs`. */
export function ratedFlow(limit: number, periodMs: number): FlowDefinition {
  return defineFlow({ name: 'rated', rateLimit: { limit, period: periodMs }, steps: { s: { handler: async () => null } } })
}

/** What {@link windowStats} finds in a series of admission times. */
export interface WindowStats {
  admissions: number
  /** Admissions `k` with `limit` admissions before them in the `period` up to them (`t[k] − t[k−limit] < period`). */
  overLimit: number
  /** The most admissions in any window of `period`. */
  maxInWindow: number
  /** `t[k] − (t[k−limit] + period)`, k ≥ limit: how long after the window let it go admission `k` came (negative: over the limit). */
  latenessMs: ReturnType<typeof summarize>
}

/**
 * Windows over the limit and lateness, from admission times (ms) with the line never empty: the
 * `k`-th admission may come at `t[k−limit] + period` at the earliest (a sliding window), so
 * `t[k] − t[k−limit] − period` is how late it came, and a negative value is a window over the
 * limit. With `later` (e.g. the step starts of the same runs), the windows are counted on `later`
 * and the lateness is `later[k] − (t[k−limit] + period)`: from the moment the admissions' window
 * let the `k`-th one go to when it started. `skip` leaves out the first `skip` of each series (the
 * runs admitted at once, whose starts share the machine with the starts of all the others).
 */
export function windowStats(times: number[], limit: number, periodMs: number, later?: number[], skip = 0): WindowStats {
  const t = [...times].sort((a, b) => a - b).slice(skip)
  const s = later ? [...later].sort((a, b) => a - b).slice(skip) : t
  let overLimit = 0
  const late: number[] = []
  for (let k = limit; k < s.length; k++) {
    if ((s[k] as number) - (s[k - limit] as number) < periodMs) overLimit++
    if (k - limit < t.length) late.push((s[k] as number) - ((t[k - limit] as number) + periodMs))
  }
  let maxInWindow = 0
  for (let i = 0, j = 0; i < s.length; i++) {
    while ((s[i] as number) - (s[j] as number) >= periodMs) j++
    maxInWindow = Math.max(maxInWindow, i - j + 1)
  }
  return { admissions: s.length, overLimit, maxInWindow, latenessMs: summarize(late) }
}

const tsOf = (e: EventRecord | undefined) => (e ? Date.parse(e.ts) : Number.NaN)

/** A run's first `step.started` and its `flow.completed` (store clock, ms), and its last `flow.queued`'s `until`. */
export function runTimes(log: EventRecord[]) {
  const started = log.find((e) => e.kind === 'flow.started')
  const first = log.find((e) => e.kind === 'step.started')
  const done = log.find((e) => e.kind === 'flow.completed')
  const queued = log.filter((e) => e.kind === 'flow.queued' && (!first || e.id < first.id)).at(-1)
  const until = (queued?.data as { until?: string } | undefined)?.until
  return { started: tsOf(started), firstStep: tsOf(first), completed: tsOf(done), until: until ? Date.parse(until) : undefined }
}

/**
 * Per key, how many runs began (first `step.started`) before the run before them ended
 * (`flow.completed`), and the most runs of one key whose intervals overlap at once.
 */
export function keyOverlaps(runs: Array<{ key: string; firstStep: number; completed: number }>) {
  const byKey = new Map<string, Array<[number, number]>>()
  for (const r of runs) {
    const list = byKey.get(r.key) ?? []
    list.push([r.firstStep, r.completed])
    byKey.set(r.key, list)
  }
  let overlaps = 0
  let most = 0
  for (const list of byKey.values()) {
    // sweep: +1 at a start, −1 at an end; an end at the same ms as a start counts first (not an overlap)
    const edges = list.flatMap(([a, b]) => [
      [a, 1],
      [b, -1],
    ])
    edges.sort((x, y) => (x[0] as number) - (y[0] as number) || (x[1] as number) - (y[1] as number))
    let cur = 0
    for (const [, d] of edges) {
      cur += d as number
      if (d === 1 && cur > 1) overlaps++
      most = Math.max(most, cur)
    }
  }
  return { keys: byKey.size, overlaps, mostAtOnce: most }
}

/** A count (of completed runs) whose `reached(n)` resolves as soon as it gets there, without polling. */
export function counter() {
  let done = 0
  let waiting: { n: number; resolve: () => void } | undefined
  return {
    add(k = 1) {
      done += k
      if (waiting && done >= waiting.n) {
        waiting.resolve()
        waiting = undefined
      }
    },
    reset() {
      done = 0
    },
    get: () => done,
    reached(n: number, timeoutMs = 300_000): Promise<void> {
      if (done >= n) return Promise.resolve()
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`bench stuck at ${done}/${n}`)), timeoutMs)
        waiting = {
          n,
          resolve: () => {
            clearTimeout(timer)
            resolve()
          },
        }
      })
    },
  }
}
export type Counter = ReturnType<typeof counter>

/** `q`, counting into `handled` the jobs its workers take, by job name (`step`, `admit`, …). */
export function countingQueue(q: JobQueue, handled: Record<string, number>): JobQueue {
  return {
    enqueue: (job) => q.enqueue(job),
    remove: (id) => q.remove(id),
    process: (handler, opts) =>
      q.process((job) => {
        handled[job.name] = (handled[job.name] ?? 0) + 1
        return handler(job)
      }, opts),
    close: () => q.close(),
  }
}

/** Redis commands (scripts' inner ones included) and their time, from INFO commandstats, in all and by command. */
export async function commandStats(redis: Redis) {
  const info = await redis.info('commandstats')
  const by: Record<string, number> = {}
  let calls = 0
  let usec = 0
  for (const m of info.matchAll(/cmdstat_([\w|]+):calls=(\d+),usec=(\d+)/g)) {
    by[m[1] as string] = Number(m[2])
    calls += Number(m[2])
    usec += Number(m[3])
  }
  return { calls, usec, by }
}
export type CommandStats = Awaited<ReturnType<typeof commandStats>>

const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d

/** Per run, between two {@link commandStats}: Redis commands, their Redis time (µs), and the 5 most called. */
export function perRun(a: CommandStats, b: CommandStats, runs: number) {
  const top = Object.entries(b.by)
    .map(([k, v]) => [k, (v - (a.by[k] ?? 0)) / runs] as const)
    .sort((x, y) => y[1] - x[1])
    .slice(0, 5)
  return {
    calls: round((b.calls - a.calls) / runs),
    usec: round((b.usec - a.usec) / runs),
    top: Object.fromEntries(top.map(([k, v]) => [k, round(v)])),
  }
}

/** Jobs taken per run by name, between two snapshots of `handled`. */
export function jobsPerRun(a: Record<string, number>, b: Record<string, number>, runs: number) {
  return Object.fromEntries(Object.entries(b).map(([name, k]) => [name, round((k - (a[name] ?? 0)) / runs, 2)]))
}
