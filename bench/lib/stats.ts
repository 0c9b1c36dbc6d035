/** Small helpers for the benchmarks: percentiles, rates, rounding, CLI args. */

/** The `p`-th percentile (0–100) of `values` (sorted copy, nearest rank). */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[rank]!
}

/** p50/p99 of latencies in ms, rounded to µs. */
export function latency(ms: number[]): { p50: number; p99: number; n: number } {
  return { p50: round(percentile(ms, 50), 3), p99: round(percentile(ms, 99), 3), n: ms.length }
}

/** Median of numbers. */
export function median(values: number[]): number {
  return percentile(values, 50)
}

export function round(x: number, digits = 2): number {
  const f = 10 ** digits
  return Math.round(x * f) / f
}

/** `--name value` from argv, as a number, else `dflt`. */
export function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? Number(process.argv[i + 1]) : dflt
}

/** Milliseconds since an arbitrary origin, sub-ms precision. */
export const now = (): number => performance.now()

/**
 * Runs each variant `rounds` times, interleaved (A B C A B C …) so a noisy
 * neighbour hurts all of them alike, and keeps each variant's best round
 * (highest `score`).
 */
export async function bestOf<T extends { score: number }>(
  rounds: number,
  variants: Record<string, () => Promise<T>>,
): Promise<Record<string, T>> {
  const best: Record<string, T> = {}
  for (let r = 0; r < rounds; r++) {
    for (const [name, run] of Object.entries(variants)) {
      const res = await run()
      if (!best[name] || res.score > best[name]!.score) best[name] = res
    }
  }
  return best
}

/** Runs `fn(i)` for i in [0, n) with at most `width` in flight. */
export async function pool(n: number, width: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0
  await Promise.all(
    Array.from({ length: Math.min(width, n) }, async () => {
      while (next < n) await fn(next++)
    }),
  )
}
