import { lateAnnouncements, lateChildren } from './awaits/announcement.js'
import type { ChildOutcome } from './awaits/run.js'
import type { Append, ChildStart, Command, JobOut, Transition } from './commands.js'
import { jobIds, keys } from './keys.js'
import { childrenOf, type Env, readyJobs, terminalWaves, withLeaveLines, withNotify } from './outputs.js'
import { applyCopies, type RerunOrigin } from './rerun.js'
import { closeAwaits, type FlowGraph, isEnded, newRunDoc, type RunDoc, releaseOf } from './runDoc.js'

/** A run's start and its cancel: the commands about the run as a whole. */

type Cancel = Extract<Command, { type: 'cancel' }>

/** Where a run came from: a schedule's tick, or a parent's `ctx.invoke` (its run, step and call position). */
export interface RunOrigin {
  schedule?: { id: string; tick: string } | undefined
  parent?: { runId: string; step: string; pos: number } | undefined
  /** `runner.rerun`: the old run, the step it reruns from, and the completed steps copied from it. */
  rerun?: RerunOrigin | undefined
  /** The `startFlow` idempotency lookup (`<flow>/<key>`) that maps to the run (`RunDoc.startKey`). */
  startKey?: string | undefined
}

/**
 * A new run of `flow` with `input` (`origin`: started by a schedule's tick, a parent's invoke or
 * a rerun): its document (steps without needs `ready`; a rerun's copied steps `completed`), its
 * `flow.started` event (written with it in one step by `createRun`), and the copied steps (their
 * `step.completed` follow it).
 */
export function newRun(
  flow: FlowGraph,
  runId: string,
  input: unknown,
  now: number,
  pos: number,
  origin: RunOrigin = {},
): { doc: RunDoc; first: Omit<Append, 'key'> & { flow: string }; key: string; copied: string[] } {
  const steps: Record<string, { needs: string[] }> = {}
  for (const [s, def] of Object.entries(flow.steps)) steps[s] = { needs: [...(def.needs ?? [])] }
  const doc = newRunDoc(flow, now, pos)
  const data: Record<string, unknown> = { name: flow.name, version: flow.version ?? 1, input, steps }
  if (origin.schedule) data.schedule = origin.schedule
  if (origin.startKey !== undefined) doc.startKey = origin.startKey
  if (origin.parent) {
    data.parent = { runId: origin.parent.runId, step: origin.parent.step }
    doc.parent = { ...origin.parent }
  }
  const rerun = origin.rerun
  if (rerun) data.rerunOf = rerun.from === undefined ? { runId: rerun.of } : { runId: rerun.of, from: rerun.from }
  const copied = rerun ? applyCopies(doc, flow, rerun.copies) : []
  return { doc, first: { kind: 'flow.started', flow: runId, data }, key: keys.flowStarted, copied }
}

/** The jobs of a stored run: one per `ready` step, one per `retrying` step (due at its retry). */
export function startJobs(runId: string, doc: RunDoc): JobOut[] {
  return doc.status === 'running' ? readyJobs(runId, doc) : []
}

/**
 * `cancel`: a running run is `canceled` (its pending awaits canceled, its leases dropped), then
 * `flow.canceled` is appended and its queued jobs removed. An ended run changes nothing; the
 * cascade of an ancestor's cancel (`cmd.cascade`) goes on through it to its children.
 */
export function cancel(doc: RunDoc | null, cmd: Cancel, env: Env): Transition<'missing' | 'ended' | 'canceled'> {
  if (!doc) return { reply: 'missing', appends: [], jobs: [], unwatch: [] }
  if (isEnded(doc)) {
    const out: Transition<'ended'> = { reply: 'ended', appends: [], jobs: [], unwatch: [], ended: true, ...releaseOf(doc) }
    if (doc.status !== 'canceled') {
      // a child that completed or failed while its own children (a race's losers) still run: they
      // were started for the ancestor canceled, and stop with it
      const children = cmd.cascade ? childrenOf(doc) : []
      if (children.length > 0) out.cancelChildren = children
      return out
    }
    // a cancel asked again finishes one cut short by a crash: the run's flow.canceled (idempotent), its jobs' removal, its cascade
    const late = lateOf(doc, env.runId)
    out.appends = [...late.appends, ...terminalWaves(doc, 'flow.canceled', doc.reason === undefined ? {} : { reason: doc.reason })]
    if (late.children.length > 0) out.children = late.children
    const leftovers = cancelOutputs(doc, env)
    out.jobs = leftovers.jobs
    out.unwatch = leftovers.unwatch
    const children = childrenOf(doc)
    if (children.length > 0) out.cancelChildren = children
    return out
  }
  // a run waiting for its debounce window: the window closes with it (later calls start a new run)
  const debounced = doc.queued?.reason === 'debounce' ? { flow: doc.flow, key: doc.queued.key ?? '' } : undefined
  doc.status = 'canceled'
  delete doc.queued
  doc.endedAt = env.now
  if (cmd.reason !== undefined) doc.reason = String(cmd.reason)
  for (const s of Object.values(doc.steps)) {
    closeAwaits(s, 'canceled', env.now)
    delete s.lease
  }
  const { jobs, unwatch } = cancelOutputs(doc, env)
  const data = cmd.reason === undefined ? {} : { reason: String(cmd.reason) }
  const late = lateOf(doc, env.runId)
  const appends = [...late.appends, ...terminalWaves(doc, 'flow.canceled', data)]
  const out = withLeaveLines({ appends, jobs, unwatch, ended: true, ...releaseOf(doc) }, doc)
  // the children those announcements name that may not exist: started (then canceled, as its children)
  if (late.children.length > 0) out.children = late.children
  if (debounced) out.dropDebounce = debounced
  // its children are canceled with it (an ended child: nothing)
  const children = childrenOf(doc)
  if (children.length > 0) out.cancelChildren = children
  const outcome: ChildOutcome = cmd.reason === undefined ? { status: 'canceled' } : { status: 'canceled', error: String(cmd.reason) }
  return { reply: 'canceled', ...withNotify(out, env, doc, outcome) }
}

/**
 * The closed awaits of a canceled run whose announcement may never have gone out
 * (`lateAnnouncements`), before its flow.canceled, and the children they name that may never have
 * been started (`lateChildren`).
 */
function lateOf(doc: RunDoc, runId: string): { appends: Append[][]; children: ChildStart[] } {
  const appends: Append[][] = []
  const children: ChildStart[] = []
  for (const [name, s] of Object.entries(doc.steps)) {
    appends.push(...lateAnnouncements(name, s))
    children.push(...lateChildren(runId, name, s))
  }
  return { appends, children }
}

/** A canceled run's queued jobs to remove (its steps' and awaits') and the event kinds it stops watching. */
function cancelOutputs(doc: RunDoc, env: Env): { jobs: JobOut[]; unwatch: string[] } {
  const jobs: JobOut[] = []
  const unwatch = new Set<string>()
  for (const [name, s] of Object.entries(doc.steps)) {
    jobs.push({ op: 'remove', id: jobIds.step(env.runId, name, s.attempt) })
    s.records.forEach((r, pos) => {
      if (r.t === 'do') return
      jobs.push({ op: 'remove', id: jobIds.time(env.runId, name, r.attempt, pos) })
      jobs.push({ op: 'remove', id: jobIds.timeout(env.runId, name, r.attempt, pos) })
      if (r.t === 'event') unwatch.add(r.kind)
    })
  }
  return { jobs, unwatch: [...unwatch] }
}
