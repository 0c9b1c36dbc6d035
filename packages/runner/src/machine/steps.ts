import { lateAnnouncements, lateChildren, quietResumes, withLateChildren } from './awaits/announcement.js'
import { type Append, type Command, type Marks, none, type Transition } from './commands.js'
import { flowResult } from './flowResult.js'
import { baseJobId, endFence, keys } from './keys.js'
import { leftTimers } from './leftJobs.js'
import {
  afterComplete,
  afterFail,
  completedAppend,
  completions,
  type Env,
  graphOf,
  readyJobs,
  recoveredAppend,
  startedAppend,
  startWaves,
} from './outputs.js'
import { closeAwaits, type DoRec, promoteReady, type RunDoc, type StepDoc, setOwn } from './runDoc.js'

/**
 * A step's life: claimed by a job (`claimStep`, `takeOver`), changed by the execution that holds
 * its lease (`record`, `setState`), then `complete`d or `fail`ed (retrying or for good).
 */

type ClaimStep = Extract<Command, { type: 'claimStep' }>
type TakeOver = Extract<Command, { type: 'takeOver' }>
type Complete = Extract<Command, { type: 'complete' }>
type Fail = Extract<Command, { type: 'fail' }>
type Record_ = Extract<Command, { type: 'record' }>
type SetState = Extract<Command, { type: 'setState' }>

/** The answer to a command of an execution: done, or refused because the run ended or the lease was lost. */
export type OwnedReply = 'ok' | 'ended' | 'lease'

/** The answer to a step job. */
export type ClaimReply =
  | { kind: 'claimed'; lease: string; takeover: boolean }
  | { kind: 'early' }
  | { kind: 'repair' }
  | { kind: 'noop' }
  /** The run is pinned to a flow version this runner does not hold: nothing changes, the job goes back to the queue. */
  | { kind: 'unheld' }

/** Claims a step for a job: `running` under a fresh lease, owned by the job. */
export function claim(s: StepDoc, jobId: string, lease: string, now: number): void {
  s.status = 'running'
  s.lease = lease
  s.owner = jobId
  s.startedAt ??= now
  // nextRetryAt and error stay: the retried attempt re-derives step.failed / step.retry from them
  delete s.waitingOn
  delete s.waitingAll
}

/** The delivery count a lease was made for (`3.V1St…`: the shell's `leaseFor`), or undefined (an older lease). */
function deliveryOf(lease: string | undefined): number | undefined {
  const m = lease === undefined ? null : /^(\d{1,15})\./.exec(lease)
  return m ? Number(m[1]) : undefined
}

/**
 * True when taking over running step `s` with `lease` would take it from a later delivery of the
 * same job: this delivery's claim was sent before its queue lock lapsed and answered after another
 * worker got the job again and claimed the step. The later delivery holds the lock and keeps the
 * step; this one ends (it cannot run it: its lock is gone, and should the later one end its job
 * as a step taken from it, nothing would deliver the step again).
 */
export function staleTakeover(s: StepDoc, lease: string): boolean {
  const mine = deliveryOf(lease)
  const theirs = deliveryOf(s.lease)
  return mine !== undefined && theirs !== undefined && mine < theirs
}

/** True when a step's state shows outputs its owning job may not have carried out (it was re-delivered after a crash). */
export function needsRepair(doc: RunDoc, s: StepDoc): boolean {
  if (s.status === 'completed' || s.status === 'failed' || s.status === 'retrying') return true
  return doc.status === 'running' && s.status === 'suspended'
}

/**
 * True when a pending await of a step this job no longer holds was recorded by its execution: the
 * job is delivered again (its worker died), so that await's announcement — its child's start, its
 * timer — may never have been carried out.
 */
export function announcedBy(doc: RunDoc, jobId: string): boolean {
  if (doc.status !== 'running') return false
  for (const s of Object.values(doc.steps)) {
    if (s.owner === jobId) continue
    if (s.records.some((r) => r.t !== 'do' && r.state === 'pending' && r.by === jobId)) return true
  }
  return false
}

/**
 * The reply to a job of a run whose version this runner does not hold: `unheld` (handed back to
 * a worker that holds it) while the run goes on or needs this job's repair, both of which need
 * its code; a leftover of an ended run (the timeout of a resolved await, a timer or a retry that
 * outlived its run) is a `noop`, as on a worker that holds it, so it does not come back for ever
 * once no worker holds that version.
 */
export function unheldOr(doc: RunDoc, s: StepDoc | undefined, jobId: string): { kind: 'unheld' } | { kind: 'noop' } {
  return doc.status === 'running' || repairBy(doc, s, jobId) ? { kind: 'unheld' } : { kind: 'noop' }
}

/** Whether job `jobId` is the one to repair its run: it holds step `s`, left needing repair, or it announced an await another job now holds. */
export function repairBy(doc: RunDoc, s: StepDoc | undefined, jobId: string): boolean {
  return (s !== undefined && s.owner === jobId && needsRepair(doc, s)) || announcedBy(doc, jobId)
}

/** Whether the execution holding `lease` still holds the running step. */
export function ownedStep(doc: RunDoc | null, step: string, lease: string): OwnedReply {
  const s = doc?.steps[step]
  if (doc?.status !== 'running') return 'ended'
  if (!s || s.lease !== lease || s.status !== 'running') return 'lease'
  return 'ok'
}

/**
 * `claimStep`: a step job claims its attempt when the step is `ready` or `retrying` and due (an
 * early job waits again), or takes over the step its own execution was running (a re-delivered
 * job). A first attempt's `step.started` rides behind the write, fenced by the new lease.
 */
export function claimStep(doc: RunDoc | null, cmd: ClaimStep, env: Env): Transition<ClaimReply> {
  const { step, attempt, jobId, lease } = cmd
  const s = doc?.steps[step]
  // never run (or repair) a run with another version's code: the job is handed back, nothing written
  if (doc && !env.flow) return { reply: unheldOr(doc, s, jobId), ...none() }
  if (doc && repairBy(doc, s, jobId)) return { reply: { kind: 'repair' }, ...none() }
  if (!doc || !s || doc.status !== 'running' || s.attempt !== attempt) return { reply: { kind: 'noop' }, ...none() }
  if (s.status === 'retrying' && (s.nextRetryAt ?? 0) > env.now) {
    const id = `${baseJobId(jobId, 'step')}~${env.now}`
    return {
      reply: { kind: 'early' },
      appends: [],
      jobs: [{ op: 'add', name: 'step', id, data: { runId: env.runId, step, attempt }, at: s.nextRetryAt ?? 0 }],
      unwatch: [],
    }
  }
  if (s.status !== 'ready' && s.status !== 'retrying' && !(s.status === 'running' && s.owner === jobId && !staleTakeover(s, lease))) {
    return { reply: { kind: 'noop' }, ...none() }
  }
  const takeover = s.status === 'running'
  claim(s, jobId, lease, env.now)
  const flow = graphOf(env, doc)
  const waves = startWaves(doc, flow, step, attempt, jobId)
  if (takeover) {
    // traced only when the execution it replaces had started (its step.started is stored)
    waves.unshift([recoveredAppend(step, attempt, jobId, lease, keys.started(step, attempt))])
    return { reply: { kind: 'claimed', lease, takeover }, appends: waves, jobs: [], unwatch: [] }
  }
  const needs = flow.steps[step]?.needs ?? []
  const behind =
    attempt === 1
      ? { appends: [startedAppend(step, 1, jobId, { key: step, token: lease })], requires: needs.map(keys.completed) }
      : undefined
  return { reply: { kind: 'claimed', lease, takeover }, behind, appends: waves, jobs: [], unwatch: [] }
}

/** `takeOver`: a re-delivered job takes over the step its dead execution was running (the handler runs again). */
export function takeOver(doc: RunDoc | null, cmd: TakeOver, env: Env): Transition<string | undefined> {
  const { step, jobId, lease } = cmd
  const s = doc?.steps[step]
  if (!doc || !s || doc.status !== 'running' || s.status !== 'running' || s.owner !== jobId || staleTakeover(s, lease))
    return { reply: undefined, ...none() }
  claim(s, jobId, lease, env.now)
  const waves = startWaves(doc, graphOf(env, doc), step, s.attempt, jobId)
  waves.unshift([recoveredAppend(step, s.attempt, jobId, lease, keys.started(step, s.attempt))])
  return { reply: lease, appends: waves, jobs: [], unwatch: [] }
}

/**
 * `complete`: the step's result is stored; the steps whose needs are all completed become
 * `ready`, and the first of them is claimed at once by the completing job (`next`: the inline
 * continuation, no queue round trip) with its `step.completed` / `step.started` riding behind
 * the write; the run completes with its last step.
 */
export function complete(doc: RunDoc | null, cmd: Complete, env: Env): Transition<{ next?: string; lease?: string } | undefined> {
  const s = doc?.steps[cmd.step]
  if (!doc || !s || doc.status !== 'running' || s.status !== 'running' || s.lease !== cmd.lease) return { reply: undefined, ...none() }
  const flow = graphOf(env, doc)
  s.status = 'completed'
  s.duration = Math.max(0, env.now - (s.startedAt ?? env.now))
  if (cmd.result !== undefined) s.result = JSON.parse(cmd.json ?? JSON.stringify(cmd.result) ?? 'null')
  s.error = undefined
  delete s.lease
  closeAwaits(s, 'canceled', env.now)
  // a race's losers whose announcement may never have gone out, then the step.resumed of awaits a
  // replay took without a write (a trigger resolved in a retry's backoff): before its step.completed
  const late = [...lateAnnouncements(cmd.step, s), ...quietResumes(cmd.step, s)]
  const ready = promoteReady(doc, flow)
  if (Object.values(doc.steps).every((x) => x.status === 'completed')) {
    const shaped = flowResult(flow, doc)
    doc.endedAt = env.now
    doc.endedBy = cmd.lease
    const over = 'error' in shaped ? undefined : oversizeResult(env.runId, doc.flow, shaped.value, cmd.maxEventBytes)
    if ('error' in shaped || over !== undefined) {
      doc.status = 'failed'
      doc.error = 'error' in shaped ? shaped.error : over
    } else {
      doc.status = 'completed'
      if (flow.result) doc.result = shaped.value
    }
  }
  const next = cmd.next ? ready[0] : undefined
  const ns = next === undefined ? undefined : doc.steps[next]
  if (!cmd.next || next === undefined || !ns) {
    const out = afterComplete(env, doc, cmd.step)
    if (late.length > 0) out.appends.unshift(...late)
    // behind the write only when this process saw the late announcements stored: their children exist
    if (out.ended) out.behind = endBehind(out.appends, cmd.step, cmd.lease)
    return withLateChildren({ ...out, reply: {} }, lateChildren(env.runId, cmd.step, s))
  }
  const { jobId, lease } = cmd.next
  claim(ns, jobId, lease, env.now)
  const fence = { key: next, token: lease }
  const others = (flow.steps[next]?.needs ?? []).filter((n) => n !== cmd.step)
  const completed = completedAppend(doc, cmd.step)
  const started = startedAppend(next, 1, jobId)
  // the other needs' step.completed and the late announcements must be stored first: only when
  // this process saw them stored (it usually announced the race's losers itself)
  const requires = late.map((wave) => (wave[0] as Append).key)
  for (const n of others) requires.push(keys.completed(n))
  return withLateChildren(
    {
      reply: { next, lease },
      behind: {
        appends: [completedAppend(doc, cmd.step, fence), startedAppend(next, 1, jobId, fence, completed.key)],
        requires,
      },
      // else: the late announcements, step.completed (with any other need's that is missing), then step.started behind it
      appends: [...late, others.length === 0 ? [completed] : [completed, ...completions(doc, others)], [started]],
      jobs: s.records.length > 0 ? [...readyJobs(env.runId, doc), ...leftTimers(env.runId, cmd.step, s)] : readyJobs(env.runId, doc),
      unwatch: [],
    },
    lateChildren(env.runId, cmd.step, s),
  )
}

/**
 * The last appends of a run that `lease`'s write ended, riding behind that write: the ending
 * step's own event (its `step.completed`, or `step.failed` for good), then the terminal event
 * conditioned on it (`after`), both fenced by {@link endFence} — stored only when that write
 * applied. Only when this process saw stored every append `waves` puts before them (the other
 * steps' `step.completed`, late announcements): else all go the ordinary way, in order.
 */
export function endBehind(waves: Append[][], step: string, lease: string): { appends: Append[]; requires: string[] } | undefined {
  const fence = endFence(lease)
  const terminal = waves.at(-1)?.[0]
  const own = waves.flat().find((a) => a.step === step && (a.kind === 'step.completed' || a.kind === 'step.failed'))
  if (!terminal || !own || terminal === own) return undefined
  const requires = waves.flat().flatMap((a) => (a === own || a === terminal ? [] : [a.key]))
  return {
    appends: [
      { ...own, fence },
      { ...terminal, fence, after: own.key },
    ],
    requires,
  }
}

/**
 * Why `flow.completed` could not hold the run's result `value` (its sink steps' results together
 * pass the store's event limit `max`, though each fits), or undefined when it fits.
 */
function oversizeResult(runId: string, flow: string, value: unknown, max: number | undefined): string | undefined {
  if (max === undefined || value === undefined) return undefined
  const text = JSON.stringify(value) ?? 'null'
  // a short text cannot pass the limit (at most 3 UTF-8 bytes per UTF-16 unit): no count needed
  if (text.length * 3 < max - 4096) return undefined
  const bytes = new TextEncoder().encode(text).length + runId.length + 128 // the envelope of flow.completed
  if (bytes <= max) return undefined
  return `The result of flow "${flow}" is ${bytes} bytes, over the store's event limit of ${max} bytes: return less from its sink steps (store large blobs elsewhere and return a reference), or shape it with defineFlow({ result }).`
}

/**
 * `fail`: the attempt failed with `error`. With `retryDelayMs` the step is `retrying` (its next
 * attempt due then); without, the step and the run fail for good.
 */
export function fail(doc: RunDoc | null, cmd: Fail, env: Env): Transition<boolean> {
  const s = doc?.steps[cmd.step]
  if (!doc || !s || doc.status !== 'running' || s.status !== 'running' || s.lease !== cmd.lease) return { reply: false, ...none() }
  delete s.lease
  s.error = cmd.error
  const since = s.startedAt
  if (cmd.retryDelayMs !== undefined) {
    s.status = 'retrying'
    s.attempt = cmd.attempt + 1
    s.nextRetryAt = env.now + cmd.retryDelayMs
    s.retryDelayMs = cmd.retryDelayMs
    delete s.startedAt
  } else {
    s.status = 'failed'
    closeAwaits(s, 'canceled', env.now)
    doc.status = 'failed'
    doc.error = cmd.error
    doc.endedAt = env.now
    doc.endedBy = cmd.lease
  }
  const out = afterFail(env, doc, cmd.step, cmd.attempt)
  // the observers learn when the attempt started: its step.failed carries no duration
  const failed = out.appends[0]?.find((a) => a.kind === 'step.failed' && a.attempt === cmd.attempt)
  if (failed && since !== undefined) failed.info = { attemptStartedAt: new Date(since).toISOString() }
  // a failed-for-good step's closed awaits whose announcement may never have gone out: before its step.failed
  if (s.status === 'failed') {
    out.appends.unshift(...lateAnnouncements(cmd.step, s))
    withLateChildren(out, lateChildren(env.runId, cmd.step, s))
  }
  if (out.ended) out.behind = endBehind(out.appends, cmd.step, cmd.lease)
  return { reply: true, ...out }
}

/** `record`: the result of `ctx.do` at call position `pos` (refused when another execution recorded there). */
export function record(doc: RunDoc | null, cmd: Record_): Transition<OwnedReply> {
  const reply = ownedStep(doc, cmd.step, cmd.lease)
  const s = doc?.steps[cmd.step]
  if (reply !== 'ok' || !s) return { reply, ...none() }
  // written already by this execution (the lease is its own): its reply was lost and it wrote again
  const was = s.records[cmd.pos]
  if (was !== undefined && JSON.stringify(was) === JSON.stringify(cmd.rec)) return { reply, ...none() }
  if (!placeMarks(s, cmd.marks, cmd.pos)) return { reply: 'lease', ...none() }
  s.records.push(cmd.rec as DoRec)
  return { reply, ...none() }
}

/**
 * Stores the `ctx.patched` markers a write carries, before the record at `pos`: they must fill
 * the positions from the step's last record up to `pos` exactly; false (nothing changed) when
 * they do not (another execution wrote there).
 */
export function placeMarks(s: StepDoc, marks: Marks | undefined, pos: number): boolean {
  const list = marks ?? []
  if (s.records.length + list.length !== pos || list.some((m, i) => m.pos !== s.records.length + i)) return false
  for (const m of list) s.records.push(m.rec)
  return true
}

/** `setState`: `ctx.state.set(key, value)` (its `state.set` event is the execution's own append). */
export function setState(doc: RunDoc | null, cmd: SetState): Transition<OwnedReply> {
  const reply = ownedStep(doc, cmd.step, cmd.lease)
  if (reply !== 'ok' || !doc) return { reply, ...none() }
  setOwn(doc.state, cmd.key, cmd.value)
  return { reply, ...none() }
}
