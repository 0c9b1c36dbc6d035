import { iso } from '../outputs.js'
import { type AwaitState, isEnded, type RunDoc, type TriggerRec, waitsOn } from '../runDoc.js'

/**
 * `ctx.await.trigger`: resolves with the payload of `resolveTrigger(id, payload)` (or
 * `POST /triggers/:id`), once. Announced by `step.await.trigger`, times out at `timeoutAt`,
 * and returns the payload on replay.
 */

/** The record of a trigger await registered at `now` under the id `id`. */
export function triggerAwait(
  type: string,
  id: string,
  payload: unknown,
  now: number,
  timeoutAt: number | undefined,
  attempt: number,
): TriggerRec {
  const r: TriggerRec = { t: 'trigger', type, id, state: 'pending', since: now, attempt }
  if (timeoutAt !== undefined) r.timeoutAt = timeoutAt
  if (payload !== undefined) r.payload = payload
  return r
}

/** Its `step.await.trigger` event. */
export function triggerAnnouncement(r: TriggerRec): { kind: string; data: Record<string, unknown> } {
  const timeoutAt = r.timeoutAt === undefined ? {} : { timeoutAt: iso(r.timeoutAt) }
  return {
    kind: 'step.await.trigger',
    data: { triggerId: r.id, triggerType: r.type, ...(r.payload !== undefined ? { payload: r.payload } : {}), ...timeoutAt },
  }
}

/** The answer to a trigger's resolve: where it is, whether its step resumes, and why it conflicts. */
export type TriggerReply = {
  step: string
  pos: number
  attempt: number
  resume: boolean
  /** Set when the trigger was no longer pending (nothing changed). */
  conflict?: Exclude<AwaitState, 'pending'>
} | null

/**
 * Resolves the trigger `triggerId` with `value`, once: a second resolve conflicts (and changes
 * nothing), and so does one of a run that ended (`canceled`: it failed, completed or was canceled). `resume` is true when its step waits on it (asked again by a conflicting resolve:
 * a resume job lost to a crash is queued again).
 */
export function resolveTrigger(doc: RunDoc, triggerId: string, value: unknown, now: number): TriggerReply {
  for (const [step, s] of Object.entries(doc.steps)) {
    const pos = s.records.findIndex((r) => r.t === 'trigger' && r.id === triggerId)
    const r = s.records[pos]
    if (r?.t !== 'trigger') continue
    // an ended run changes no more: its pending triggers are closed with it (a failed run's
    // reducer shows their steps canceled), as a canceled run's are
    if (isEnded(doc)) return { step, pos, attempt: s.attempt, resume: false, conflict: r.state === 'pending' ? 'canceled' : r.state }
    const waiting = waitsOn(s, pos)
    if (r.state !== 'pending') return { step, pos, attempt: s.attempt, resume: waiting && r.state === 'resolved', conflict: r.state }
    r.state = 'resolved'
    r.value = value
    r.doneAt = Math.max(now, r.since)
    // nothing resumes the step for it: its step.resumed goes with the step's next resume
    if (!waiting) r.quiet = true
    return { step, pos, attempt: s.attempt, resume: waiting }
  }
  return null
}

/** How the call reads in a non-determinism error. */
export function triggerCall(r: Pick<TriggerRec, 'type'>): string {
  return `await.trigger("${r.type}")`
}

/** What it returns once resolved (on replay too): the payload it was resolved with. */
export function triggerValue(r: TriggerRec): unknown {
  return r.value
}
