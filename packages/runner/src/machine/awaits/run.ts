import type { JobOut } from '../commands.js'
import { jobIds } from '../keys.js'
import { iso } from '../outputs.js'
import { type AwaitRec, type RunDoc, type RunRec, type StepDoc, waitsOn } from '../runDoc.js'

/**
 * `ctx.invoke`: waits on a child run. The record (with the child's run id, chosen before the child
 * is started) is announced by `step.await.run`; the child's end resolves it with
 * its outcome — `result` when it completed, its status and error when it failed or was canceled
 * (`resolveChildren`: the ends of several children at once).
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
  version?: number,
): RunRec {
  const r: RunRec = { t: 'run', flow, childRunId, input, state: 'pending', since: now, attempt }
  if (timeoutAt !== undefined) r.timeoutAt = timeoutAt
  if (version !== undefined) r.version = version
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

/** One child's end, as its parent is told it. */
export interface ChildEnd {
  childRunId: string
  outcome: ChildOutcome
}

/**
 * Resolves the awaits of the children in `ends` with their outcomes, each once (a second end
 * changes nothing), in one change of the document: the outcomes of children that ended at about
 * the same time are written together. Replies for each child in order.
 *
 * `resume` asks for the step's resume job, once per wake: for the first await of the batch that
 * the suspended step waits on, unless an await of its wait set that a child resolved earlier
 * woke it already (its resume job is queued and not yet run, or the step would no longer wait on
 * it; when that resolve's process crashed before queuing it, that child's job, delivered again,
 * tells its end again). A second end of a resolved await the step still waits on asks again
 * (a resume lost to a crash is queued again).
 */
export function resolveChildren(doc: RunDoc, ends: readonly ChildEnd[], now: number): ChildReply[] {
  const where = ends.length > 1 ? runAwaits(doc) : undefined
  return ends.map(({ childRunId, outcome }) => {
    const at = where ? where.get(childRunId) : findRunAwait(doc, childRunId)
    const s = at ? doc.steps[at.step] : undefined
    const r = at && s ? s.records[at.pos] : undefined
    if (!at || !s || r?.t !== 'run') return null
    const { step, pos } = at
    const waiting = waitsOn(s, pos)
    if (r.state !== 'pending') return { step, pos, attempt: s.attempt, resume: waiting && r.state === 'resolved' }
    // before this one is resolved: an await of this batch resolved before it counts
    const woke = waiting && !wokenByChild(s)
    r.state = 'resolved'
    r.outcome = outcome
    // kept only while pending: the child's input (to start it again); the job that announces it
    // stays until the await's announcement goes out again (with its step.resumed, or before its
    // step's end: a race's loser that its dead job's re-delivery no longer finds pending)
    delete r.input
    r.doneAt = Math.max(now, r.since)
    return { step, pos, attempt: s.attempt, resume: woke }
  })
}

/** The resume jobs of a batch of children's ends: {@link stepResumeJobs} of the steps any of them asked to wake. */
export function wakeJobs(doc: RunDoc, runId: string, replies: readonly ChildReply[]): JobOut[] {
  const steps = new Set<string>()
  for (const r of replies) if (r?.resume) steps.add(r.step)
  return stepResumeJobs(doc, runId, steps)
}

/**
 * The resume jobs of `steps` after a batch of their awaits resolved (children's ends, matched
 * events): one per step, named after the first resolved await the step waits on, so the asks of
 * several batches (ends folded twice, from two processes' outboxes; a repeat asking again after a
 * crash) name one job, which the queue keeps once — not one per resolved await (each a read of
 * the run's whole document by a job that finds the step already woken).
 */
export function stepResumeJobs(doc: RunDoc, runId: string, steps: Iterable<string>): JobOut[] {
  const jobs: JobOut[] = []
  for (const step of steps) {
    const s = doc.steps[step] as StepDoc
    const waited = s.waitingAll ?? (s.waitingOn === undefined ? [] : [s.waitingOn])
    const pos = waited.find((p) => (s.records[p] as AwaitRec | undefined)?.state === 'resolved')
    if (pos !== undefined)
      jobs.push({ op: 'add', name: 'resume', id: jobIds.resume(runId, step, s.attempt, pos), data: { runId, step, pos } })
  }
  return jobs
}

/** True when a child's end resolved an await the suspended step still waits on: its resume job is on its way. */
function wokenByChild(s: StepDoc): boolean {
  for (const p of s.waitingAll ?? [s.waitingOn ?? -1]) {
    const r = s.records[p]
    if (r?.t === 'run' && r.state === 'resolved') return true
  }
  return false
}

/** Where the await of child `childRunId` is. */
function findRunAwait(doc: RunDoc, childRunId: string): { step: string; pos: number } | undefined {
  for (const [step, s] of Object.entries(doc.steps)) {
    const pos = s.records.findIndex((r) => r.t === 'run' && r.childRunId === childRunId)
    if (pos >= 0) return { step, pos }
  }
  return undefined
}

/** Every run await of the document, by child run id. */
function runAwaits(doc: RunDoc): Map<string, { step: string; pos: number }> {
  const out = new Map<string, { step: string; pos: number }>()
  for (const [step, s] of Object.entries(doc.steps)) {
    s.records.forEach((r, pos) => {
      if (r.t === 'run' && !out.has(r.childRunId)) out.set(r.childRunId, { step, pos })
    })
  }
  return out
}

/** How the call reads in a non-determinism error. */
export function runCall(r: Pick<RunRec, 'flow'>): string {
  return `invoke("${r.flow}")`
}

/** What it returns once resolved (on replay too): the child's outcome (the context turns a failure into `ChildRunError`). */
export function runValue(r: RunRec): ChildOutcome | undefined {
  return r.outcome
}
