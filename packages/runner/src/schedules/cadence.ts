import { LeanflowError, parseDuration } from '@leanflow/core'
import { Cron } from 'croner'

/**
 * When a schedule's ticks are: a cron pattern in a time zone (croner, Vixie cron's DST rule: a
 * fixed-time pattern such as `30 2 * * *` fires once at the first valid time after a spring-forward
 * gap and once in a fall-back overlap; an interval pattern such as `0 * * * *` or `0,30 2 * * *`
 * skips its times in the gap and fires at both passes through the overlap), or
 * every `ms` aligned to the Unix epoch (so every replica computes the same ticks).
 */
export interface Cadence {
  /** The first tick strictly after `after` (ms). */
  next(after: number): number
  /** Up to `n` ticks at or before `at`, the most recent first. */
  previous(at: number, n: number): number[]
  /** About how far apart its ticks are (ms): the grace period is at least this. */
  readonly spacing: number
}

/** The shortest `every`: a schedule is a run start, not a busy loop. */
const MIN_EVERY_MS = 1000
/** The longest `every`, 10 years (of 365.25 days): its ticks stay dates (a longer one is a cron's job). */
const MAX_EVERY_MS = 315_576_000_000

/** The most characters of a refused value (or of croner's reason, which repeats it) an error message shows. */
const MAX_SHOWN = 200

/** The `INVALID_ARGUMENT` error of a schedule's field: its id, the field, the value given (its start), and what to pass. */
export const invalidField = (id: string, field: string, value: unknown, fix: string) =>
  new LeanflowError('INVALID_ARGUMENT', `Schedule "${id}": invalid ${field} ${shown(value)}: ${fix}.`)

/** `text`, or its first {@link MAX_SHOWN} characters and `…`: a hostile value of megabytes makes no message of megabytes. */
const cut = (text: string) => (text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN)}…` : text)

/** A value as an error message shows it: JSON, but `Infinity` and `NaN` by name (JSON says `null`). */
const shown = (value: unknown) =>
  cut(typeof value === 'number' && !Number.isFinite(value) ? String(value) : (JSON.stringify(value) ?? String(value)))

/**
 * Checks an IANA time zone name and returns it as the runtime spells it (`Intl`'s canonical name),
 * so two spellings of one zone are one schedule: `europe/paris` is `Europe/Paris`, `Etc/UTC` and
 * `GMT` are `UTC`.
 *
 * @example
 * ```ts
 * assertTimeZone('nightly', 'europe/berlin') // 'Europe/Berlin'
 * ```
 */
export function assertTimeZone(id: string, tz: unknown): string {
  if (typeof tz !== 'string' || tz === '') throw invalidField(id, 'tz', tz, "pass an IANA time zone such as 'Europe/Berlin' or 'UTC'")
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: tz }).resolvedOptions().timeZone
  } catch {
    throw invalidField(id, 'tz', tz, "pass an IANA time zone such as 'Europe/Berlin' or 'UTC'")
  }
}

/** A stored zone's canonical name (a document written before zones were canonical may spell it otherwise). */
export function zoneOf(tz: string): string {
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: tz }).resolvedOptions().timeZone
  } catch {
    return tz
  }
}

/** The nicknames a cron pattern may be, as their five fields. */
const NICKNAMES: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
}

/**
 * A cron pattern as one spelling, so that two spellings of one cadence are one schedule: a
 * nickname as its fields (`@daily` is `0 0 * * *`), runs of spaces as one, a seconds field of 0 left out.
 *
 * @example
 * ```ts
 * cronKey('@daily') === cronKey('0  0 * * *') // true
 * ```
 */
export function cronKey(cron: string | undefined): string | undefined {
  if (cron === undefined) return undefined
  const spaced = cron.trim().replace(/\s+/g, ' ')
  const fields = NICKNAMES[spaced.toLowerCase()] ?? spaced
  // six fields with seconds 0 fire when the five do
  return fields.startsWith('0 ') && fields.split(' ').length === 6 ? fields.slice(2) : fields
}

const CRON_FIX = "pass 5 or 6 fields, e.g. '0 3 * * *', or a nickname such as '@daily'"

/** The cadence of a cron pattern (5 fields, or 6 with seconds first, or a nickname: `@daily`, `@hourly`, …) in `tz`. */
export function cronCadence(id: string, pattern: unknown, tz: string): Cadence {
  if (typeof pattern !== 'string' || pattern.trim() === '') throw invalidField(id, 'cron', pattern, CRON_FIX)
  if (pattern.trim().startsWith('@') && NICKNAMES[pattern.trim().toLowerCase()] === undefined)
    throw invalidField(id, 'cron', pattern, `it is no nickname: ${CRON_FIX} (the nicknames: ${Object.keys(NICKNAMES).join(', ')})`)
  let cron: Cron
  try {
    cron = new Cron(pattern, { timezone: tz, paused: true, mode: '5-or-6-parts' })
    if (cron.nextRun(new Date(0)) === null) throw new Error('it never fires')
  } catch (err) {
    // croner's count of parts names the seven it takes in another mode: this one takes 5 or 6
    const why = (err as Error).message
      .replace(/^Cron\w*: /, '')
      .replace(/exactly five, six, or seven space separated parts are required\.?/i, 'it has the wrong number of fields.')
    throw invalidField(id, 'cron', pattern, `${cut(why)} (${CRON_FIX})`)
  }
  const next = (after: number) => (cron.nextRun(new Date(after)) as Date).getTime()
  const first = next(Date.UTC(2026, 0, 1))
  return {
    next,
    // previousRuns is strictly before its date: ticks at `at` count, so ask from the next ms
    previous: (at, n) => cron.previousRuns(n, new Date(at + 1)).map((d) => d.getTime()),
    spacing: next(first) - first,
  }
}

/** A stored `every` in ms (`'1m'`, `'60s'` and `60000` are one cadence), or `NaN` when it is none. */
export function everyMs(every: string | number | undefined): number {
  try {
    return every === undefined ? Number.NaN : parseDuration(every, 'every')
  } catch {
    return Number.NaN
  }
}

/** The cadence of `every` (ms or a duration string, at least 1 s), its ticks at whole multiples since the epoch. */
export function everyCadence(id: string, every: unknown): Cadence {
  let ms: number
  try {
    ms = parseDuration(every as string, 'every')
  } catch {
    throw invalidField(id, 'every', every, "pass a duration such as '15m' or a number of ms")
  }
  if (!Number.isInteger(ms) || ms < MIN_EVERY_MS) throw invalidField(id, 'every', every, 'pass at least 1 s (1000 ms)')
  if (ms > MAX_EVERY_MS) throw invalidField(id, 'every', every, `pass at most 10 years (${MAX_EVERY_MS} ms)`)
  return {
    next: (after) => (Math.floor(after / ms) + 1) * ms,
    previous: (at, n) => {
      const last = Math.floor(at / ms) * ms
      return Array.from({ length: n }, (_, i) => last - i * ms)
    },
    spacing: ms,
  }
}
