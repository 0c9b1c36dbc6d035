import { iso } from '../outputs.js'
import type { TimeRec } from '../runDoc.js'

/**
 * `ctx.await.time`: resolves at `at` by the store's clock. Announced by `step.await.time`,
 * resolved by its `time` job (which, fired early, waits again), never times out, and returns
 * nothing on replay.
 */

/** The record of a time await registered at `now` (already resolved when `at` is not later). */
export function timeAwait(at: number, now: number, attempt: number): TimeRec {
  if (at <= now) return { t: 'time', at, state: 'resolved', since: now, doneAt: now, attempt }
  return { t: 'time', at, state: 'pending', since: now, attempt }
}

/** Its `step.await.time` event. */
export function timeAnnouncement(r: TimeRec): { kind: string; data: Record<string, unknown> } {
  return { kind: 'step.await.time', data: { resumeAt: iso(r.at) } }
}

/** Its `time` job fired at `now`: resolves it, or returns the store time to wait for (fired early). */
export function fireTime(r: TimeRec, now: number): number | undefined {
  if (r.state !== 'pending') return undefined
  if (r.at > now) return r.at
  r.state = 'resolved'
  r.doneAt = now
  return undefined
}

/** How the call reads in a non-determinism error. */
export function timeCall(_r: TimeRec): string {
  return 'await.time'
}

/** What it returns once resolved (on replay too): nothing. */
export function timeValue(_r: TimeRec): undefined {
  return undefined
}
