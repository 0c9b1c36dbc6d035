import { LeanflowError } from './errors.js'

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }
const PATTERN = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)$/

/** The longest duration, 100 years (of 365.25 days). */
const MAX_DURATION_MS = 3_155_760_000_000

/** Milliseconds, or a duration string such as `'500ms'`, `'30s'`, `'5m'`, `'24h'`, `'7d'`, `'2w'`. */
export type Duration = number | string

/**
 * Converts a {@link Duration} to whole milliseconds (a fraction is rounded). Throws `INVALID_ARGUMENT`
 * (naming the value) for anything else, negative numbers included, and for more
 * than 100 years.
 *
 * @example
 * ```ts
 * parseDuration('24h') // 86_400_000
 * parseDuration(1500)  // 1500
 * ```
 */
export function parseDuration(value: Duration, what = 'duration'): number {
  let ms: number | undefined
  if (typeof value === 'number') {
    // whole milliseconds, as a string's are: Redis (PEXPIRE, PX) and SQL intervals take no fraction
    if (Number.isFinite(value) && value >= 0) ms = Math.round(value)
  } else if (typeof value === 'string') {
    const m = PATTERN.exec(value.trim())
    if (m) ms = Math.round(Number(m[1]) * (UNITS[m[2]!] ?? 1))
  }
  if (ms !== undefined && ms <= MAX_DURATION_MS) return ms
  if (ms !== undefined) {
    // past any deadline a date can hold (and any a flow needs): refused where it is given
    throw new LeanflowError(
      'INVALID_ARGUMENT',
      `Invalid ${what} ${JSON.stringify(value)}: at most 100 years (${MAX_DURATION_MS} ms); a longer wait is no deadline.`,
    )
  }
  throw new LeanflowError(
    'INVALID_ARGUMENT',
    `Invalid ${what} ${typeof value === 'number' ? String(value) : (JSON.stringify(value) ?? String(value))}: use milliseconds (a number >= 0) or a string like '500ms', '30s', '5m', '24h', '7d'.`,
  )
}
