import type { ExternalEvent } from '@leanflow/core'
import { iso } from '../outputs.js'
import { type AwaitRec, type EventRec, type RunDoc, waitsOn } from '../runDoc.js'
import { matches } from './match.js'

/**
 * `ctx.await.event`: resolves with the first external event of its kind published after the
 * run started that fits its `match` and no other await of the run consumed. Announced by
 * `step.await.event`, resolved by a `matchEvents` command (after each publish and each new
 * await of the kind), times out at `timeoutAt`, and returns the event on replay.
 */

/** The record of an event await registered at `now`. */
export function eventAwait(
  kind: string,
  match: Record<string, unknown> | undefined,
  now: number,
  timeoutAt: number | undefined,
  attempt: number,
): EventRec {
  const r: EventRec = { t: 'event', kind, state: 'pending', since: now, attempt }
  if (match) r.match = match
  if (timeoutAt !== undefined) r.timeoutAt = timeoutAt
  return r
}

/** Its `step.await.event` event. */
export function eventAnnouncement(r: EventRec): { kind: string; data: Record<string, unknown> } {
  const timeoutAt = r.timeoutAt === undefined ? {} : { timeoutAt: iso(r.timeoutAt) }
  return { kind: 'step.await.event', data: { eventKind: r.kind, ...(r.match ? { match: r.match } : {}), ...timeoutAt } }
}

/** The kinds of the run's pending event awaits. */
export function pendingKinds(doc: RunDoc | null): Set<string> {
  const kinds = new Set<string>()
  if (doc?.status !== 'running') return kinds
  for (const s of Object.values(doc.steps)) for (const r of s.records) if (r.t === 'event' && r.state === 'pending') kinds.add(r.kind)
  return kinds
}

/**
 * The kinds of the event awaits `recs` that timed out and that no pending await of the run waits
 * on any more: the run stops watching them (a kind stays watched while another await of it is
 * pending).
 */
export function idleKinds(doc: RunDoc | null, recs: readonly AwaitRec[]): string[] {
  const pending = pendingKinds(doc)
  return [...new Set(recs.flatMap((r) => (r.t === 'event' && r.state === 'timedOut' && !pending.has(r.kind) ? [r.kind] : [])))]
}

/**
 * Resolves the run's pending event awaits against `events` (by kind, in log order): each takes
 * the first fitting event no await of the run consumed. Returns the awaits whose step waits on
 * them (they resume).
 */
export function matchEvents(
  doc: RunDoc,
  events: ReadonlyMap<string, readonly ExternalEvent[]>,
  now: number,
): Array<{ step: string; attempt: number; pos: number }> {
  const out: Array<{ step: string; attempt: number; pos: number }> = []
  if (doc.status !== 'running') return out
  for (const [name, s] of Object.entries(doc.steps)) {
    s.records.forEach((r, pos) => {
      if (r.t !== 'event' || r.state !== 'pending') return
      const hit = events.get(r.kind)?.find((e) => !doc.consumed.includes(e.id) && matches(e, r.match))
      if (!hit) return
      r.state = 'resolved'
      r.event = { id: hit.id, ts: hit.ts, kind: hit.kind, data: hit.data }
      r.doneAt = Math.max(now, r.since)
      doc.consumed.push(hit.id)
      if (waitsOn(s, pos)) out.push({ step: name, attempt: s.attempt, pos })
    })
  }
  return out
}

/**
 * The steps still suspended on an event await of one of `kinds` that was resolved already: the
 * process that resolved it may have died before it queued the step's resume job, which a later
 * match of those kinds (a publish repeated under its idempotency key) queues again (its id is
 * the same: a resume queued twice runs once).
 */
export function resolvedEventWaits(doc: RunDoc, kinds: { has(kind: string): boolean }): string[] {
  if (doc.status !== 'running') return []
  const out: string[] = []
  for (const [name, s] of Object.entries(doc.steps)) {
    const waited = s.status === 'suspended' ? (s.waitingAll ?? (s.waitingOn === undefined ? [] : [s.waitingOn])) : []
    const hit = waited.some((p) => {
      const r = s.records[p]
      return r?.t === 'event' && r.state === 'resolved' && kinds.has(r.kind)
    })
    if (hit) out.push(name)
  }
  return out
}

/** How the call reads in a non-determinism error. */
export function eventCall(r: Pick<EventRec, 'kind'>): string {
  return `await.event("${r.kind}")`
}

/** What it returns once resolved (on replay too): the event it consumed. */
export function eventValue(r: EventRec): ExternalEvent | undefined {
  return r.event
}
