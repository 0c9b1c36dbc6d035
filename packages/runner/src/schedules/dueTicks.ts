import type { Cadence } from './cadence.js'

/** How late a tick may fire and still count as on time (not missed): at least one cadence. */
export const GRACE_MS = 5000
/** The most ticks `catchUp: 'all'` fires after downtime. */
export const CATCH_UP_MAX = 100

/**
 * The ticks a schedule fires now, and when it is due next. `nextRunAt` is its first tick not yet
 * handled. Every tick up to one grace period late fires (a busy machine, a late poll); ticks
 * missed by more than that (downtime) follow `catchUp`: the most recent one (`latest`), none, or
 * all of them (the most recent {@link CATCH_UP_MAX}). Pure: no clock, `now` comes in.
 *
 * @example
 * ```ts
 * dueTicks(everyCadence('s', '1m'), 'latest', nextRunAt, now) // { fire: [t1, t2], next: t3 }
 * ```
 */
export function dueTicks(
  cadence: Cadence,
  catchUp: 'latest' | 'none' | 'all',
  nextRunAt: number,
  now: number,
): { fire: number[]; next: number } {
  const next = cadence.next(now)
  if (nextRunAt > now) return { fire: [], next: nextRunAt }
  const grace = Math.max(GRACE_MS, cadence.spacing)
  const onTimeFrom = now - grace
  const fire: number[] = []
  if (nextRunAt <= onTimeFrom && catchUp !== 'none') {
    const missed = cadence.previous(onTimeFrom, catchUp === 'all' ? CATCH_UP_MAX : 1).filter((t) => t >= nextRunAt)
    fire.push(...missed.reverse())
  }
  // the ticks within the grace period, oldest first (at most grace / spacing of them)
  const from = Math.max(nextRunAt, onTimeFrom + 1)
  for (let tick = from === nextRunAt ? nextRunAt : cadence.next(from - 1); tick <= now; tick = cadence.next(tick)) fire.push(tick)
  return { fire, next }
}
