import { iso } from '../outputs.js'
import { type RunDoc, type RunRec, waitsOn } from '../runDoc.js'

/**
 * `ctx.invoke`: waits on a child run. The record (with the child's run id, chosen before the child
 * is started) is announced by `step.await.run`; the child's end resolves it (`resolveChild`) with
 * its outcome — `result` when it completed, its status and error when it failed or was canceled.
 * Times out at `timeoutAt` like the other awaits.
 */

/** How a child run ended, as its parent's await records it. */
export interface ChildOutcome {
  status: 'completed' | 'failed' | 'canceled'
  result?: unknown
  error?: string
}

/** The record of an invoke registered at `now`: child `childRunId` of flow `flow`. */
export function runAwait(
  flow: string,
  childRunId: string,
  input: unknown,
  now: number,
  timeoutAt: number | undefined,
  attempt: number,
): RunRec {
  const r: RunRec = { t: 'run', flow, childRunId, input, state: 'pending', since: now, attempt }
  if (timeoutAt !== undefined) r.timeoutAt = timeoutAt
  return r
}

/** Its `step.await.run` event. */
export function runAnnouncement(r: RunRec): { kind: string; data: Record<string, unknown> } {
  const data: Record<string, unknown> = { childRunId: r.childRunId, flow: r.flow }
  if (r.timeoutAt !== undefined) data.timeoutAt = iso(r.timeoutAt)
  return { kind: 'step.await.run', data }
}

/** The answer to a child's end: where its await is and whether its step resumes (null: no such await). */
export type ChildReply = { step: string; pos: number; attempt: number; resume: boolean } | null

/**
 * Resolves the await of child `childRunId` with its outcome, once (a second end changes nothing;
 * `resume` is asked again then, so a resume lost to a crash is queued again).
 */
export function resolveChild(doc: RunDoc, childRunId: string, outcome: ChildOutcome, now: number): ChildReply {
  for (const [step, s] of Object.entries(doc.steps)) {
    const pos = s.records.findIndex((r) => r.t === 'run' && r.childRunId === childRunId)
    const r = s.records[pos]
    if (r?.t !== 'run') continue
    const waiting = waitsOn(s, pos)
    if (r.state !== 'pending') return { step, pos, attempt: s.attempt, resume: waiting && r.state === 'resolved' }
    r.state = 'resolved'
    r.outcome = outcome
    delete r.input
    r.doneAt = Math.max(now, r.since)
    return { step, pos, attempt: s.attempt, resume: waiting }
  }
  return null
}

/** How the call reads in a non-determinism error. */
export function runCall(r: Pick<RunRec, 'flow'>): string {
  return `invoke("${r.flow}")`
}

/** What it returns once resolved (on replay too): the child's outcome (the context turns a failure into `ChildRunError`). */
export function runValue(r: RunRec): ChildOutcome | undefined {
  return r.outcome
}
