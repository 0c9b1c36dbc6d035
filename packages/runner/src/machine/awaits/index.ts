import { type Append, type ChildStart, type Command, type JobOut, type Marks, none, type Outputs, type Transition } from '../commands.js'
import { baseJobId, jobIds, keys, RUN_FENCE } from '../keys.js'
import { type Env, iso, recoveredAppend } from '../outputs.js'
import { type AwaitRec, type Rec, type RunDoc, type StepDoc, waitsOn } from '../runDoc.js'
import { claim, type OwnedReply, ownedStep, placeMarks, repairBy, staleTakeover, unheldOr } from '../steps.js'
import { awaitedAppend, lateChildren, resumedAppend, withLateChildren } from './announcement.js'
import { eventCall, eventValue, idleKinds } from './event.js'
import { runCall, runValue } from './run.js'
import { fireTime, timeCall, timeValue } from './time.js'
import { triggerCall, triggerValue } from './trigger.js'

/**
 * What every await shares: its announcement (`step.await.*` and its timer or timeout job), the
 * commands of the execution that registers or suspends on it, the `time` / `timeout` / `resume`
 * jobs, and its `step.resumed` / `step.await.timeout` events. The kinds: `time.ts`, `event.ts`,
 * `trigger.ts`, `run.ts`; the `step.await.*` events: `announcement.ts`.
 */

/** The name prefix of a `ctx.patched` marker record (`{ t: 'do', name: 'patched:<id>' }`). */
export const PATCHED = 'patched:'

/** What a resolved await returns, first time and on replay. */
export function awaitValue(r: AwaitRec): unknown {
  if (r.t === 'time') return timeValue(r)
  if (r.t === 'event') return eventValue(r)
  if (r.t === 'run') return runValue(r)
  return triggerValue(r)
}

/** How a recorded call reads in a non-determinism error: `ctx.do("charge")`, `await.event("paid")`, … */
export function callLabel(rec: Rec): string {
  if (rec.t === 'do') return rec.name.startsWith(PATCHED) ? `ctx.patched("${rec.name.slice(PATCHED.length)}")` : `ctx.do("${rec.name}")`
  if (rec.t === 'time') return timeCall(rec)
  if (rec.t === 'event') return eventCall(rec)
  if (rec.t === 'run') return runCall(rec)
  return triggerCall(rec)
}

/**
 * Under the run's fence, as an announcement is: the `step.resumed` a `suspend` appends with the
 * announcement of an await already resolved rides behind it, and neither lands after the run ended.
 */
const UNDER_RUN = { fence: RUN_FENCE, mayRefuse: true } as const

/** `step.await.timeout` of the await at `pos`. */
function timedOutAppend(step: string, attempt: number, pos: number, r: AwaitRec): Append {
  const data = { awaitType: r.t, timeoutAt: iso(r.timeoutAt ?? r.doneAt ?? r.since), position: pos }
  return { kind: 'step.await.timeout', step, data, key: keys.timedOut(step, pos), attempt }
}

/** Announces an await: its `step.await.*`, and its timer (`time`) or timeout job while it is pending. */
export function announceOutputs(
  env: Env,
  step: string,
  pos: number,
  r: AwaitRec,
): { appends: Append[][]; jobs: JobOut[]; children?: ChildStart[] } {
  const jobs: JobOut[] = []
  const data = { runId: env.runId, step, pos }
  if (r.state === 'pending' && r.t === 'time') {
    jobs.push({ op: 'add', name: 'time', id: jobIds.time(env.runId, step, r.attempt, pos), data, at: r.at })
  } else if (r.state === 'pending' && r.timeoutAt !== undefined) {
    jobs.push({ op: 'add', name: 'timeout', id: jobIds.timeout(env.runId, step, r.attempt, pos), data, at: r.timeoutAt })
  }
  const appends = [[awaitedAppend(step, pos, r)]]
  if (r.t === 'run' && r.state === 'pending') {
    const children = [
      {
        flow: r.flow,
        runId: r.childRunId,
        input: r.input ?? null,
        parent: { runId: env.runId, step, pos },
        since: r.since,
        ...(r.version === undefined ? {} : { version: r.version }),
      },
    ]
    return { appends, jobs, children }
  }
  return { appends, jobs }
}

/** The resume job of a step whose await at `pos` resolved. */
export function resumeJob(runId: string, step: string, attempt: number, pos: number): JobOut {
  return { op: 'add', name: 'resume', id: jobIds.resume(runId, step, attempt, pos), data: { runId, step, pos } }
}

type Announce = Extract<Command, { type: 'announce' }>
type Suspend = Extract<Command, { type: 'suspend' }>
type AwaitJob = Extract<Command, { type: 'awaitJob' }>
type AwaitJobs = Extract<Command, { type: 'awaitJobs' }>

/**
 * `announce`: the execution registers the await `rec` at call position `pos`, and those of `more`
 * after it (and suspends on `rec` at once when `suspend`). Outputs their announcements; a resolved
 * time await also resumes.
 */
export function announce(doc: RunDoc | null, cmd: Announce, env: Env): Transition<OwnedReply> {
  const reply = ownedStep(doc, cmd.step, cmd.lease)
  const s = doc?.steps[cmd.step]
  if (reply !== 'ok' || !s) return { reply, appends: [], jobs: [], unwatch: [] }
  const out: Outputs = { appends: [], jobs: [], unwatch: [] }
  const list = [{ pos: cmd.pos, rec: cmd.rec }, ...(cmd.more ?? [])]
  if (!recordAwaits(s, cmd.step, list, cmd.marks, env, out, true)) return { reply: 'lease', appends: [], jobs: [], unwatch: [] }
  if (cmd.suspend) {
    s.status = 'suspended'
    s.waitingOn = cmd.pos
    delete s.lease
  }
  return { reply, ...out }
}

/**
 * Records the awaits of `list` in step `s` (each after the `ctx.patched` markers of `marks` before
 * it) and adds their announcements to `out` (with `resumeResolved`, the `step.resumed` of one that
 * is resolved already). False when the markers do not fit the step's records (the lease was lost).
 */
function recordAwaits(
  s: StepDoc,
  step: string,
  list: ReadonlyArray<{ pos: number; rec: AwaitRec }>,
  marks: Marks | undefined,
  env: Env,
  out: Outputs,
  resumeResolved: boolean,
): boolean {
  const left = [...(marks ?? [])]
  for (const { pos, rec } of list) {
    const before = left.filter((m) => m.pos < pos)
    left.splice(0, before.length)
    if (!placeMarks(s, before, pos)) return false
    s.records.push(recordedBy(rec, s.owner))
    const one = announceOutputs(env, step, pos, rec)
    out.appends.push(...one.appends)
    out.jobs.push(...one.jobs)
    if (one.children) out.children = [...(out.children ?? []), ...one.children]
    if (resumeResolved && rec.state === 'resolved') out.appends.push([resumedAppend(step, s.attempt, pos, rec)])
    if (rec.t === 'event') out.matchEvents = true
  }
  return true
}

/**
 * `suspend`: the execution waits on the awaits at `positions` (parallel awaits: any of them wakes
 * it). Suspends the step (the lease is given up) while all are pending; else replies with the
 * records of those that are not (each resolved one with its `step.resumed`), and the step runs on.
 */
export function suspend(doc: RunDoc | null, cmd: Suspend, env: Env): Transition<OwnedReply | 'suspended' | SettledAwait[]> {
  const reply = ownedStep(doc, cmd.step, cmd.lease)
  const s = doc?.steps[cmd.step]
  if (reply !== 'ok' || !s) return { reply, appends: [], jobs: [], unwatch: [] }
  // the awaits registered since the last write: recorded and announced first, in this write
  const announced: Outputs = { appends: [], jobs: [], unwatch: [] }
  if (!recordAwaits(s, cmd.step, cmd.announce ?? [], cmd.marks, env, announced, false))
    return { reply: 'lease', appends: [], jobs: [], unwatch: [] }
  const positions = cmd.positions
  const recs = positions.map((pos) => s.records[pos])
  if (positions.length === 0 || recs.some((r) => !r || r.t === 'do')) return { reply: 'lease', appends: [], jobs: [], unwatch: [] }
  const settled: SettledAwait[] = []
  const timedOut: SettledAwait[] = []
  positions.forEach((pos, i) => {
    const r = recs[i] as AwaitRec
    // a timer already due resolves here (its own job then finds it resolved): the step woken by
    // one of many timers due at once goes on with all of them, not one wake-up and write each
    if (r.t === 'time') fireTime(r, env.now)
    // an event or trigger await past its timeout times out here likewise: its timeout job may
    // have been lost (its worker died; or, under a step-level slot, another await's job took its
    // place in line), and the step would wait on it for good (an invoke's is left to its job)
    else if (r.t !== 'run' && r.state === 'pending' && r.timeoutAt !== undefined && r.timeoutAt <= env.now) {
      r.state = 'timedOut'
      r.doneAt = env.now
      timedOut.push({ pos, rec: r })
    }
    if (r.state !== 'pending') settled.push({ pos, rec: r })
  })
  if (settled.length > 0) {
    for (const x of settled) {
      delete x.rec.quiet
      // announced again with its step.resumed (or step.await.timeout) below (a take-over replays to here and repeats both)
      if (x.rec.state === 'resolved' || timedOut.includes(x)) delete x.rec.by
    }
    // each with its announcement again first (a child written before its announcement was, by a
    // worker that died in between, may have ended before the announcement of the await it resolved)
    const resumed = settled
      .filter((x) => x.rec.state === 'resolved')
      .flatMap((x) => [[awaitedAppend(cmd.step, x.pos, x.rec)], [{ ...resumedAppend(cmd.step, s.attempt, x.pos, x.rec), ...UNDER_RUN }]])
    const timeouts = timedOut.flatMap((x) => [
      [awaitedAppend(cmd.step, x.pos, x.rec)],
      [{ ...timedOutAppend(cmd.step, s.attempt, x.pos, x.rec), ...UNDER_RUN }],
    ])
    return {
      ...announced,
      unwatch: [
        ...announced.unwatch,
        ...idleKinds(
          doc,
          timedOut.map((x) => x.rec),
        ),
      ],
      reply: settled,
      appends: [...announced.appends, ...resumed, ...timeouts],
    }
  }
  s.status = 'suspended'
  s.waitingOn = positions[0]
  if (positions.length > 1) s.waitingAll = [...positions]
  else delete s.waitingAll
  delete s.lease
  return { ...announced, reply: 'suspended' }
}

/** The record as stored: pending, it names the job whose execution announces it (`AwaitBase.by`). */
function recordedBy(rec: AwaitRec, owner: string | undefined): AwaitRec {
  return rec.state === 'pending' && owner !== undefined ? { ...rec, by: owner } : rec
}

/** An await of a `suspend` that was no longer pending: its position and record. */
export interface SettledAwait {
  pos: number
  rec: AwaitRec
}

/** The answer to an await job. */
export type AwaitJobReply =
  | { kind: 'claimed'; lease: string; takeover: boolean }
  | { kind: 'early' }
  | { kind: 'timedOut' }
  | { kind: 'repair' }
  | { kind: 'noop' }
  /** The run is pinned to a flow version this runner does not hold: nothing changes, the job goes back to the queue. */
  | { kind: 'unheld' }

/**
 * `awaitJobs`: the `time` / `timeout` jobs of one run that came together, each decided as its own
 * `awaitJob` in order on the same document (as if one after the other), their outputs joined: a
 * step woken by many timers due at once costs one compare-and-set, not one read and write each.
 */
export function awaitJobs(doc: RunDoc | null, cmd: AwaitJobs, env: Env): Transition<AwaitJobReply[]> {
  const replies: AwaitJobReply[] = []
  const out: Outputs = { appends: [], jobs: [], unwatch: [] }
  for (const one of cmd.jobs) {
    const t = awaitJob(doc, { type: 'awaitJob', ...one }, env)
    replies.push(t.reply)
    out.appends.push(...t.appends)
    out.jobs.push(...t.jobs)
    for (const k of t.unwatch) if (!out.unwatch.includes(k)) out.unwatch.push(k)
    // each claim's appends ride behind the write, fenced by that claim's own lease
    if (t.behind)
      out.behind = {
        appends: [...(out.behind?.appends ?? []), ...t.behind.appends],
        requires: [...(out.behind?.requires ?? []), ...t.behind.requires],
      }
  }
  return { reply: replies, ...out }
}

/**
 * `awaitJob`: a `time` job resolves its await (or waits again when early), a `timeout` job times
 * its await out (likewise), a `resume` job wakes the step: each claims the step when it waits on
 * that await, now settled (or takes it over when the job's own execution died).
 */
export function awaitJob(doc: RunDoc | null, cmd: AwaitJob, env: Env): Transition<AwaitJobReply> {
  const { step, pos, jobId } = cmd
  const s = doc?.steps[step]
  const r = s?.records[pos]
  if (doc && !env.flow) return { reply: unheldOr(doc, s, jobId), ...none() }
  if (doc && repairBy(doc, s, jobId)) return { reply: { kind: 'repair' }, ...none() }
  if (!doc || !s || !r || r.t === 'do' || doc.status !== 'running') return { reply: { kind: 'noop' }, ...none() }
  const again = (at: number): Transition<AwaitJobReply> => ({
    reply: { kind: 'early' },
    appends: [],
    jobs: [{ op: 'add', name: cmd.job, id: `${baseJobId(jobId, cmd.job)}~${env.now}`, data: { runId: env.runId, step, pos }, at }],
    unwatch: [],
  })
  if (cmd.job === 'time' && r.t === 'time') {
    // a due timer its step does not wait on now (the step runs, woken by another await) is
    // resolved by the step's next suspend, with every timer due then: no write of the run here
    const later =
      r.state === 'pending' &&
      r.at <= env.now &&
      !waitsOn(s, pos) &&
      !(s.status === 'running' && s.owner === jobId && !staleTakeover(s, cmd.lease))
    if (later) return { reply: { kind: 'noop' }, ...none() }
    const wait = fireTime(r, env.now)
    if (wait !== undefined) return again(wait)
  }
  let timedOut = false
  if (cmd.job === 'timeout' && r.t !== 'time' && r.state === 'pending') {
    if ((r.timeoutAt ?? 0) > env.now) return again(r.timeoutAt ?? 0)
    r.state = 'timedOut'
    r.doneAt = env.now
    timedOut = true
  }
  const waiting = waitsOn(s, pos) && r.state !== 'pending'
  // the other awaits the step waited on that resolved meanwhile: their step.resumed comes with this one's
  const alsoResumed = waiting
    ? (s.waitingAll ?? []).filter((p) => p !== pos && s.records[p]?.t !== 'do' && (s.records[p] as AwaitRec).state === 'resolved')
    : []
  // and those that resolved while it did not wait on them (a trigger's later wait() gets them on replay, unannounced)
  if (waiting)
    for (const [p, q] of s.records.entries()) if (p !== pos && q.t !== 'do' && q.quiet && !alsoResumed.includes(p)) alsoResumed.push(p)
  let reply: AwaitJobReply = timedOut ? { kind: 'timedOut' } : { kind: 'noop' }
  if (waiting || (s.status === 'running' && s.owner === jobId && !staleTakeover(s, cmd.lease))) {
    const takeover = s.status === 'running'
    claim(s, jobId, cmd.lease, env.now)
    reply = { kind: 'claimed', lease: cmd.lease, takeover }
  }
  if (reply.kind === 'noop') return { reply, ...none() }
  // an invoke that timed out while its announcer (dead before it started the child) was unconfirmed:
  // the child is started (idempotent) before its announcement goes out again, so the log names no
  // child that does not exist; the announcement then waits for it (no riding behind the claim)
  const kids = r.t === 'run' && r.state === 'timedOut' ? lateChildren(env.runId, step, s).filter((c) => c.parent.pos === pos) : []
  const appends: Append[][] = []
  if (reply.kind === 'claimed' && reply.takeover) {
    // the execution it replaces had started once its step.resumed (or step.await.timeout) was stored
    const after = r.state === 'timedOut' ? keys.timedOut(step, pos) : keys.resumed(step, pos)
    appends.push([recoveredAppend(step, s.attempt, jobId, cmd.lease, after)])
  }
  // the await's announcement first (its own append may have failed, or never gone out, before it was resolved)
  appends.push([awaitedAppend(step, pos, r)])
  if (r.state === 'timedOut') appends.push([timedOutAppend(step, s.attempt, pos, r)])
  else if (r.state === 'resolved' && reply.kind === 'claimed') appends.push([resumedAppend(step, s.attempt, pos, r)])
  if (reply.kind === 'claimed') {
    // announced again here, by this job (its re-delivery takes the step over and repeats it): the
    // step's end need not announce it again (`lateAnnouncements`)
    if (r.state !== 'pending') delete r.by
    for (const p of alsoResumed) {
      const q = s.records[p] as AwaitRec
      delete q.quiet
      delete q.by
      // each with its announcement first too: a child written before its announcement was (a
      // worker that died in between) may have ended, and so resolved its await, before a repair
      appends.push([awaitedAppend(step, p, q)], [resumedAppend(step, s.attempt, p, q)])
    }
  }
  const unwatch = idleKinds(doc, [r])
  if (reply.kind !== 'claimed' || reply.takeover || kids.length > 0) return withLateChildren({ reply, appends, jobs: [], unwatch }, kids)
  // the same appends ride behind the claim, fenced by its new lease (refused unless the claim
  // applied), each stored only after the one before: no round trip of their own
  const fence = { key: step, token: cmd.lease }
  const behind: Append[] = []
  for (const wave of appends) {
    const a: Append = { ...(wave[0] as Append), fence }
    const before = behind.at(-1)
    if (before) a.after = before.key
    behind.push(a)
  }
  return { reply, behind: { appends: behind, requires: [] }, appends, jobs: [], unwatch }
}
