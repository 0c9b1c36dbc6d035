import { type AdmitReply, admit, queue, queueStep, unwait, wake } from './admission.js'
import { resumedAppend } from './awaits/announcement.js'
import { matchEvents, resolvedEventWaits } from './awaits/event.js'
import { type AwaitJobReply, announce, awaitJob, awaitJobs, resumeJob, type SettledAwait, suspend } from './awaits/index.js'
import { type ChildReply, resolveChildren, stepResumeJobs, wakeJobs } from './awaits/run.js'
import { resolveTrigger, type TriggerReply } from './awaits/trigger.js'
import type { Append, Command, Transition } from './commands.js'
import type { Env } from './outputs.js'
import { cancel } from './run.js'
import { isEnded, type RunDoc } from './runDoc.js'
import { type ClaimReply, claimStep, complete, fail, type OwnedReply, record, setState, takeOver } from './steps.js'

/**
 * The runner's decisions about one run, as one pure function: `transition(doc, command, env)`
 * changes the document in place (the caller's private copy, written by compare-and-set when
 * changed) and returns the reply to the caller and the outputs to carry out — events to append
 * with their idempotency keys and fences, jobs to queue or remove. No store, queue, clock or
 * randomness in here: ids come in with the command, time with `env.now`.
 *
 * @example
 * ```ts
 * const t = transition(doc, { type: 'cancel', reason: 'duplicate' }, { runId, now, flow })
 * t.reply // 'canceled'; doc.status === 'canceled'; t.appends ends with flow.canceled
 * ```
 */
export function transition<C extends Command>(doc: RunDoc | null, cmd: C, env: Env): Transition<Replies[C['type']]> {
  return decide(doc, cmd, env) as Transition<Replies[C['type']]>
}

/** The reply of each command. */
export interface Replies {
  cancel: 'missing' | 'ended' | 'canceled'
  resolveTrigger: TriggerReply
  /** For each trigger, in order. */
  resolveTriggers: TriggerReply[]
  /** How many steps resume. */
  matchEvents: number
  claimStep: ClaimReply
  awaitJob: AwaitJobReply
  /** For each job, in order. */
  awaitJobs: AwaitJobReply[]
  /** The lease of the take-over, or undefined when the step is no longer the job's. */
  takeOver: string | undefined
  /** The step claimed inline and its lease; undefined when the execution no longer held the step. */
  complete: { next?: string; lease?: string } | undefined
  /** False when the execution no longer held the step. */
  fail: boolean
  record: OwnedReply
  setState: OwnedReply
  announce: OwnedReply
  /** `suspended`, or the awaits that are no longer pending (the step runs on with them). */
  suspend: OwnedReply | 'suspended' | SettledAwait[]
  /** For each child, in order. */
  resolveChildren: ChildReply[]
  admit: AdmitReply
  /** False when the run is not queued. */
  queue: boolean
  /** False when the step's attempt is no longer the job's. */
  queueStep: boolean
  /** True when the step's waiting job was queued again. */
  wake: boolean
  /** True when the waiting job ended its own wait. */
  unwait: boolean
}

/**
 * The `step.resumed` of a trigger resolved while its step is suspended on other awaits: it leaves
 * the step's pending awaits now (its `wait()`, later, gets the payload on replay without one).
 */
function quietlyResolved(doc: RunDoc | null, reply: TriggerReply): Append[][] {
  const s = reply ? doc?.steps[reply.step] : undefined
  const r = reply ? s?.records[reply.pos] : undefined
  if (!reply || reply.resume || reply.conflict || s?.status !== 'suspended' || r?.t !== 'trigger' || !r.quiet) return []
  delete r.quiet
  return [[resumedAppend(reply.step, reply.attempt, reply.pos, r)]]
}

function decide(doc: RunDoc | null, cmd: Command, env: Env): Transition {
  switch (cmd.type) {
    case 'cancel':
      return cancel(doc, cmd, env)
    case 'resolveTrigger': {
      const reply = doc ? resolveTrigger(doc, cmd.triggerId, cmd.value, env.now) : null
      const jobs = reply?.resume ? [resumeJob(env.runId, reply.step, reply.attempt, reply.pos)] : []
      return { reply, appends: quietlyResolved(doc, reply), jobs, unwatch: [] }
    }
    case 'resolveTriggers': {
      const replies = cmd.triggers.map((t) => (doc ? resolveTrigger(doc, t.triggerId, t.value, env.now) : null))
      // one resume job per step woken, however many of its triggers resolved
      const woken = new Set(replies.flatMap((r) => (r?.resume ? [r.step] : [])))
      const jobs = doc ? stepResumeJobs(doc, env.runId, woken) : []
      return { reply: replies, appends: replies.flatMap((r) => quietlyResolved(doc, r)), jobs, unwatch: [] }
    }
    case 'resolveChildren': {
      // an ended run (failed by another step, canceled: its children's cancel ends come here) never changes
      const replies = doc && !isEnded(doc) ? resolveChildren(doc, cmd.ends, env.now) : cmd.ends.map(() => null)
      return { reply: replies, appends: [], jobs: doc ? wakeJobs(doc, env.runId, replies) : [], unwatch: [] }
    }
    case 'matchEvents': {
      const resumes = doc ? matchEvents(doc, cmd.events, env.now) : []
      const steps = new Set(resumes.map((r) => r.step))
      // and the steps still suspended on an event of these kinds resolved before (a resume lost with its process)
      if (doc) for (const step of resolvedEventWaits(doc, cmd.events)) steps.add(step)
      const jobs = doc ? stepResumeJobs(doc, env.runId, steps) : []
      return { reply: resumes.length, appends: [], jobs, unwatch: [] }
    }
    case 'claimStep':
      return claimStep(doc, cmd, env)
    case 'awaitJob':
      return awaitJob(doc, cmd, env)
    case 'awaitJobs':
      return awaitJobs(doc, cmd, env)
    case 'takeOver':
      return takeOver(doc, cmd, env)
    case 'complete':
      return complete(doc, cmd, env)
    case 'fail':
      return fail(doc, cmd, env)
    case 'record':
      return record(doc, cmd)
    case 'setState':
      return setState(doc, cmd)
    case 'announce':
      return announce(doc, cmd, env)
    case 'suspend':
      return suspend(doc, cmd, env)
    case 'admit':
      return admit(doc, cmd, env)
    case 'queue':
      return queue(doc, cmd)
    case 'queueStep':
      return queueStep(doc, cmd)
    case 'wake':
      return wake(doc, cmd, env)
    case 'unwait':
      return unwait(doc, cmd)
  }
}

export type { AdmitReply, Waiting } from './admission.js'
export { queueNew, runsHandler } from './admission.js'
export type { AwaitJobReply, SettledAwait } from './awaits/index.js'
export type { ChildEnd, ChildOutcome, ChildReply } from './awaits/run.js'
export type { TriggerReply } from './awaits/trigger.js'
export type { Append, Command, JobOut, Marks, Outputs, Transition } from './commands.js'
export type { Env } from './outputs.js'
export { repairOutputs } from './repair.js'
export type { RerunOrigin } from './rerun.js'
export { beginOutputs, copiedWaves, rerunCopies } from './rerun.js'
export type { RunOrigin } from './run.js'
export { newRun, startJobs } from './run.js'
export type { ClaimReply, OwnedReply } from './steps.js'
