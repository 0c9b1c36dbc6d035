import type { Append, Command, JobOut, Transition } from './commands.js'
import { none } from './commands.js'
import { jobIds } from './keys.js'
import { type Env, iso, readyJobs } from './outputs.js'
import { type QueuedDoc, type RunDoc, releaseOf, type StepDoc, type StepWait, waitsOn } from './runDoc.js'
import { announcedBy } from './steps.js'

/**
 * Flow control, as the machine sees it: a run waits `queued` until the store's limits admit it
 * (`admit`), logging why (`queue`: `flow.queued`); a step waits for a step-level slot
 * (`queueStep`: `step.queued`) until a freed slot wakes its job (`wake`). The limits themselves
 * (who holds, who is next) live in the store's `LimitStore`; the shell asks it and brings the
 * answers here as these commands.
 */

type Admit = Extract<Command, { type: 'admit' }>
type Queue = Extract<Command, { type: 'queue' }>
type QueueStep = Extract<Command, { type: 'queueStep' }>
type Wake = Extract<Command, { type: 'wake' }>
type Unwait = Extract<Command, { type: 'unwait' }>

/** Why a run or step waits: the reason, the limit's key, and (rate limit, debounce) when it may go. */
export interface Waiting {
  reason: QueuedDoc['reason']
  key?: string | undefined
  until?: number | undefined
}

/** The reply of `admit`. */
export type AdmitReply = 'admitted' | 'running' | 'ended' | 'missing'

/** `flow.queued` number `n` of a run (keyed: each decision to log one is logged once). */
export function queuedAppend(w: Waiting, n: number): Append {
  const data: Record<string, unknown> = { reason: w.reason }
  if (w.key !== undefined && w.key !== '') data.key = w.key
  if (w.until !== undefined) data.until = iso(w.until)
  return { kind: 'flow.queued', data, key: `fq~${n}` }
}

/** Marks a fresh document queued for `w` (its `flow.started` is written with it; `flow.queued` #1 follows). */
export function queueNew(doc: RunDoc, w: Waiting): Append {
  doc.status = 'queued'
  doc.queued = { reason: w.reason, n: 1 }
  if (w.key !== undefined && w.key !== '') doc.queued.key = w.key
  return queuedAppend(w, 1)
}

/** `admit`: a queued run runs (with the debounced input when given): its ready steps' jobs. */
export function admit(doc: RunDoc | null, cmd: Admit, env: Env): Transition<AdmitReply> {
  if (!doc) return { reply: 'missing', ...none() }
  if (doc.status === 'running') return { reply: 'running', ...none() }
  if (doc.status !== 'queued') return { reply: 'ended', ...none(), ended: true, ...releaseOf(doc) }
  doc.status = 'running'
  const job = doc.queued?.job
  delete doc.queued
  if (cmd.input !== undefined) doc.input = cmd.input
  const jobs: JobOut[] = readyJobs(env.runId, doc)
  // its backstop is no longer needed
  if (job !== undefined) jobs.push({ op: 'remove', id: job })
  return { reply: 'admitted', appends: [], jobs, unwatch: [] }
}

/** `queue`: a queued run waits for another reason or key than the one logged: `flow.queued` again. */
export function queue(doc: RunDoc | null, cmd: Queue): Transition<boolean> {
  const q = doc?.queued
  if (doc?.status !== 'queued' || !q) return { reply: false, ...none() }
  if (cmd.input !== undefined) doc.input = cmd.input
  if (q.reason === cmd.reason && (q.key ?? '') === (cmd.key ?? '')) return { reply: true, ...none() }
  q.n += 1
  q.reason = cmd.reason
  if (cmd.key !== undefined && cmd.key !== '') q.key = cmd.key
  else delete q.key
  return { reply: true, appends: [[queuedAppend(cmd, q.n)]], jobs: [], unwatch: [] }
}

/**
 * `queueStep`: the job of a step (a first attempt, a retry or an await's) found no free slot: the
 * step keeps its status, remembers the job to wake, and logs `step.queued` (once per attempt and
 * record position).
 */
export function queueStep(doc: RunDoc | null, cmd: QueueStep): Transition<boolean> {
  const s = doc?.steps[cmd.step]
  if (doc?.status !== 'running' || !s || s.attempt !== cmd.attempt) return { reply: false, ...none() }
  s.wait = cmd.pos === undefined ? { job: cmd.job, slot: cmd.slot } : { job: cmd.job, pos: cmd.pos, slot: cmd.slot }
  // a re-delivered job taking over its dead execution: whichever job ends the wait takes over in its stead
  if (s.status === 'running' && cmd.jobId !== undefined && s.owner === cmd.jobId) s.wait.owner = cmd.jobId
  const data: Record<string, unknown> = { reason: 'concurrency' }
  if (cmd.key !== undefined && cmd.key !== '') data.key = cmd.key
  const key = `sq~${cmd.step}~${cmd.attempt}~${s.records.length}`
  return { reply: true, appends: [[{ kind: 'step.queued', step: cmd.step, data, key, attempt: cmd.attempt }]], jobs: [], unwatch: [] }
}

/**
 * `wake`: the slot of token `slot` was given to the waiting step: its job is queued again (a fresh
 * job id, carrying the token). Ends the wait: of a wake and the waiting job's own `unwait`, one wins.
 */
export function wake(doc: RunDoc | null, cmd: Wake, env: Env): Transition<boolean> {
  const s = doc?.steps[cmd.step]
  const w = s?.wait
  if (doc?.status !== 'running' || !s || !w || w.slot !== cmd.slot) return { reply: false, ...none() }
  delete s.wait
  const { runId } = env
  const data =
    w.pos === undefined ? { runId, step: cmd.step, attempt: s.attempt, slot: w.slot } : { runId, step: cmd.step, pos: w.pos, slot: w.slot }
  const base =
    w.job === 'step'
      ? jobIds.step(runId, cmd.step, s.attempt)
      : jobIds[w.job](runId, cmd.step, (s.records[w.pos ?? 0] as { attempt?: number } | undefined)?.attempt ?? s.attempt, w.pos ?? 0)
  const job: JobOut = { op: 'add', name: w.job, id: `${base}~${env.now}`, data }
  s.woken = { slot: w.slot, id: job.id, name: w.job, data }
  handOver(s, w, job.id)
  return { reply: true, appends: [], jobs: [job], unwatch: [] }
}

/** `unwait`: the waiting job of token `slot` ends its wait itself (it got the slot); false when a wake (or a claim) ended it first. */
export function unwait(doc: RunDoc | null, cmd: Unwait): Transition<boolean> {
  const s = doc?.steps[cmd.step]
  const w = s?.wait
  if (doc?.status !== 'running' || !s || !w || w.slot !== cmd.slot) return { reply: false, ...none() }
  delete s.wait
  if (cmd.jobId !== undefined) handOver(s, w, cmd.jobId)
  return { reply: true, ...none() }
}

/**
 * The job that ends a take-over's wait (a wake's fresh job, a backstop) owns the running step in
 * the waiting job's stead, so its claim takes the step over instead of finding it taken (the
 * step would stay running for good: nothing else runs it).
 */
function handOver(s: StepDoc, w: StepWait, jobId: string): void {
  if (w.owner !== undefined && s.status === 'running' && s.owner === w.owner) s.owner = jobId
}

/**
 * Whether job `job` of a step with a step-level limit, taken now, would run the step's handler,
 * and so first takes a slot: a `step` job of the step's attempt that is ready (or due to retry),
 * an await job of an await the suspended step waits on, or either kind re-delivered to take over
 * the step its dead execution was running. Any other job (its step moved on: suspended, ended, or
 * held by another job) only repairs what it left undone, or does nothing: it takes no slot, since
 * waiting for one it would take the place in line of the job that does run the handler.
 */
export function runsHandler(
  doc: RunDoc,
  job: { id: string; name: string; data: { step: string; attempt?: number; pos?: number } },
  now: number,
): boolean {
  const s = doc.steps[job.data.step]
  if (doc.status !== 'running' || !s) return false
  if (s.status === 'running') return s.owner === job.id
  // a step this job holds that moved on, or awaits its execution recorded: repaired, not run
  if (s.owner === job.id || announcedBy(doc, job.id)) return false
  if (job.name === 'step') {
    if (s.attempt !== job.data.attempt) return false
    return s.status === 'ready' || (s.status === 'retrying' && (s.nextRetryAt ?? 0) <= now)
  }
  const r = s.records[job.data.pos ?? 0]
  return r !== undefined && r.t !== 'do' && waitsOn(s, job.data.pos ?? 0)
}
