import type { AppendFence } from '@leanflow/core'
import type { OpenAttempt } from '../observer.js'
import type { ChildOutcome } from './awaits/run.js'
import type { Append, JobOut, Outputs } from './commands.js'
import { flowResult } from './flowResult.js'
import { jobIds, keys } from './keys.js'
import { leftByRun, leftTimers } from './leftJobs.js'
import { type FlowGraph, type RunDoc, releaseOf, type StepDoc } from './runDoc.js'

/**
 * The outputs of a change, derived from the document alone: a re-delivered job derives them
 * again from the stored document and repeats them harmlessly (idempotency keys, job ids).
 */

/** Who a transition runs for: the run, its flow's graph, and the store clock's now. */
export interface Env {
  runId: string
  now: number
  /** Absent when this runner does not hold the run's flow (commands that need it throw). */
  flow: FlowGraph | undefined
}

/** ISO 8601 of a store-clock ms. */
export function iso(ms: number): string {
  return new Date(ms).toISOString()
}

/** The run's flow graph, or an error naming the missing definition. */
export function graphOf(env: Env, doc: RunDoc): FlowGraph {
  if (!env.flow)
    throw new Error(
      `Flow "${doc.flow}" version ${doc.version ?? 1} is not registered with this runner: pass it in createRunner({ flows }).`,
    )
  return env.flow
}

/** `step.completed` of a completed step, from the document (`fence`: stored only while it holds). */
export function completedAppend(doc: RunDoc, name: string, fence?: AppendFence): Append {
  const s = doc.steps[name] as StepDoc
  const duration = s.duration ?? 0
  const data: Record<string, unknown> = s.result === undefined ? { duration } : { result: s.result, duration }
  if (s.copied) data.copied = true
  const a: Append = { kind: 'step.completed', step: name, data, key: keys.completed(name), attempt: s.attempt, signed: true }
  if (fence) a.fence = fence
  return a
}

/** `step.completed` of each of `steps` that the document shows completed. */
export function completions(doc: RunDoc, steps: Iterable<string>): Append[] {
  const out: Append[] = []
  for (const name of steps) if (doc.steps[name]?.status === 'completed') out.push(completedAppend(doc, name))
  return out
}

/** `step.started` of attempt `attempt`, stored only while `fence` holds and once the append keyed `after` is. */
export function startedAppend(step: string, attempt: number, jobId: string, fence?: AppendFence, after?: string): Append {
  const a: Append = { kind: 'step.started', step, data: {}, key: keys.started(step, attempt), attempt, jobId, signed: true }
  if (fence) a.fence = fence
  if (after !== undefined) a.after = after
  return a
}

/**
 * A take-over's `step.started` (`data.recovered`, keyed once per lease, fenced by it): stored only
 * once the replaced execution's start (the append keyed `after`) is — it ran the handler — and
 * refused quietly otherwise.
 */
export function recoveredAppend(step: string, attempt: number, jobId: string, lease: string, after: string): Append {
  return {
    kind: 'step.started',
    step,
    data: { recovered: true },
    key: keys.recovered(step, attempt, lease),
    attempt,
    jobId,
    signed: true,
    fence: { key: step, token: lease },
    after,
    mayRefuse: true,
  }
}

/**
 * The appends of a claimed step's start: the `step.completed` of every step it needs and, for a
 * retry, the `step.failed` / `step.retry` of the attempt before (their own appends may have been
 * lost), then its `step.started`.
 */
export function startWaves(doc: RunDoc, flow: FlowGraph, step: string, attempt: number, jobId: string): Append[][] {
  const s = doc.steps[step]
  const waves: Append[][] = [completions(doc, flow.steps[step]?.needs ?? [])]
  if (attempt > 1 && s) waves.push(...retriedWaves(step, s, attempt, s.startedAt ?? doc.startedAt))
  waves.push([startedAppend(step, attempt, jobId)])
  return waves
}

/** `step.failed` of attempt `attempt - 1` (it will retry), then `step.retry` of `attempt`, from the step's document. */
function retriedWaves(step: string, s: StepDoc, attempt: number, now: number): Append[][] {
  const error = s.error ?? 'failed'
  const failed = { error, willRetry: true, nextRetryAt: iso(s.nextRetryAt ?? now) }
  return [
    [{ kind: 'step.failed', step, data: failed, key: keys.failed(step, attempt - 1), attempt: attempt - 1 }],
    [{ kind: 'step.retry', step, data: { reason: error, delayMs: s.retryDelayMs ?? 0 }, key: keys.retry(step, attempt), attempt }],
  ]
}

/**
 * A run's terminal event, after every `step.completed` the document shows (never before one); it
 * tells the observers the attempts the end cut off (running or suspended: no event of theirs ends them).
 */
export function terminalWaves(doc: RunDoc, kind: string, data: unknown): Append[][] {
  const end: Append = { kind, data, key: keys.flowEnded, info: { open: openAttempts(doc) } }
  return [completions(doc, Object.keys(doc.steps)), [end]]
}

/** The attempts started and neither completed nor failed: running, or suspended on an await. */
function openAttempts(doc: RunDoc): OpenAttempt[] {
  const open: OpenAttempt[] = []
  for (const [step, s] of Object.entries(doc.steps)) {
    if ((s.status !== 'running' && s.status !== 'suspended') || s.attempt < 1) continue
    const a: OpenAttempt = { step, attempt: s.attempt, startedAt: iso(s.startedAt ?? doc.startedAt), suspended: s.status === 'suspended' }
    // the attempt's awaits: an observer in another process than the one that recorded them saw no `step.await.*` of theirs
    const awaits = s.records.flatMap((r, position) =>
      r.t !== 'do' && r.attempt === s.attempt ? [{ type: r.t, position, since: iso(r.since) }] : [],
    )
    if (awaits.length > 0) a.awaits = awaits
    open.push(a)
  }
  return open
}

/** A job for every `ready` step and every `retrying` one (due at its `nextRetryAt`). */
export function readyJobs(runId: string, doc: RunDoc): JobOut[] {
  const jobs: JobOut[] = []
  for (const [step, s] of Object.entries(doc.steps)) {
    const data = { runId, step, attempt: s.attempt }
    // a step waiting for a step-level slot is queued again by its wake, not here
    if (s.status === 'ready' && s.wait === undefined) jobs.push({ op: 'add', name: 'step', id: jobIds.step(runId, step, s.attempt), data })
    else if (s.status === 'retrying') {
      const at = s.nextRetryAt ?? 0
      jobs.push({ op: 'add', name: 'step', id: jobIds.step(runId, step, s.attempt), data, at })
    }
  }
  return jobs
}

/** The outputs of a completed step: its `step.completed` and the jobs of the steps it made ready, or the run's end. */
export function afterComplete(env: Env, doc: RunDoc, step: string): Outputs {
  if (doc.status === 'failed' && Object.values(doc.steps).every((x) => x.status === 'completed')) {
    // every step completed, and the flow's result function failed the run
    const error = doc.error ?? 'failed'
    return ending(env, doc, step, terminalWaves(doc, 'flow.failed', { error, duration: runDuration(env, doc) }), {
      status: 'failed',
      error,
    })
  }
  if (doc.status === 'completed') {
    const flow = graphOf(env, doc)
    const result = flow.result ? doc.result : (flowResult(flow, doc) as { value: unknown }).value
    const appends = terminalWaves(doc, 'flow.completed', { result, duration: runDuration(env, doc) })
    return ending(env, doc, step, appends, { status: 'completed', result })
  }
  const jobs = doc.status === 'running' ? readyJobs(env.runId, doc) : []
  const s = doc.steps[step]
  if (s) jobs.push(...leftTimers(env.runId, step, s))
  return { appends: [completions(doc, [step])], jobs, unwatch: [] }
}

/** The outputs of a failed attempt: `step.failed` and the retry's job, or `step.failed` for good and the run's end. */
export function afterFail(env: Env, doc: RunDoc, step: string, attempt: number): Outputs {
  const s = doc.steps[step]
  if (!s) return { appends: [], jobs: [], unwatch: [] }
  if (s.status === 'retrying') {
    const job: JobOut = {
      op: 'add',
      name: 'step',
      id: jobIds.step(env.runId, step, s.attempt),
      data: { runId: env.runId, step, attempt: s.attempt },
      at: s.nextRetryAt ?? env.now,
    }
    return { appends: retriedWaves(step, s, s.attempt, env.now), jobs: [job], unwatch: [] }
  }
  const error = s.error ?? 'failed'
  const appends: Append[][] = [[{ kind: 'step.failed', step, data: { error, willRetry: false }, key: keys.failed(step, attempt), attempt }]]
  if (doc.status !== 'failed') return { appends, jobs: leftTimers(env.runId, step, s), unwatch: [] }
  appends.push(...terminalWaves(doc, 'flow.failed', { error: doc.error ?? error, duration: runDuration(env, doc) }))
  return ending(env, doc, step, appends, { status: 'failed', error: doc.error ?? error })
}

/** ms from the run's start to its end. */
function runDuration(env: Env, doc: RunDoc): number {
  return Math.max(0, (doc.endedAt ?? env.now) - doc.startedAt)
}

/**
 * The outputs of a run's end (`step`'s completion or failure ended it): its last appends, its
 * slots released, its parent told, the jobs its steps leave queued for nothing removed.
 */
function ending(env: Env, doc: RunDoc, step: string, appends: Append[][], outcome: ChildOutcome): Outputs {
  const s = doc.steps[step]
  const jobs = leftByRun(env.runId, doc, step)
  if (s) jobs.push(...leftTimers(env.runId, step, s))
  return withNotify(withLeaveLines({ appends, jobs, unwatch: [], ended: true, ...releaseOf(doc) }, doc), env, doc, outcome)
}

/** An ended run's steps that wait for a step-level slot leave their lines (`leaveLines`), when it has any. */
export function withLeaveLines(out: Outputs, doc: RunDoc): Outputs {
  for (const step in doc.steps) {
    const wait = doc.steps[step]?.wait
    if (wait) (out.leaveLines ??= []).push({ step, slot: wait.slot })
  }
  return out
}

/** A child run's end tells its parent (`notify`), when it has one. */
export function withNotify(out: Outputs, env: Env, doc: RunDoc, outcome: ChildOutcome): Outputs {
  if (doc.parent) out.notify = { parent: doc.parent.runId, childRunId: env.runId, outcome }
  return out
}

/** Every run this run invoked (`ctx.invoke` records), whatever their await became: canceling the run cancels them. */
export function childrenOf(doc: RunDoc): string[] {
  const out: string[] = []
  for (const s of Object.values(doc.steps)) for (const r of s.records) if (r.t === 'run') out.push(r.childRunId)
  return out
}
