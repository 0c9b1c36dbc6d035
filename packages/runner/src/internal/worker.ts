import { type ActiveJob, parseDuration } from '@leanflow/core'
import { isRetriable, normalizeRetry, retryDelay } from '../retryPolicy.js'
import { createContext, flushAndFence } from './context.js'
import {
  afterComplete,
  afterFail,
  appendAwaited,
  appendContinuation,
  appendRecovered,
  appendResumed,
  appendStarted,
  appendStartedFenced,
  iso,
  needsRepair,
  repairOwned,
} from './effects.js'
import type { Engine } from './engine.js'
import { Execution, ExecutionGone } from './execution.js'
import { keys, type RunnerJobData } from './jobIds.js'
import { ancestors, closeAwaits, promoteReady, type RunDoc } from './runDoc.js'

type Claimed =
  | { kind: 'claimed'; lease: string; doc: RunDoc; takeover: boolean }
  | { kind: 'early'; waitMs: number }
  | { kind: 'repair'; doc: RunDoc }
  | { kind: 'noop' }

/** Options of the job handler. */
export interface WorkerOptions {
  cancelPollMs: number
}

/** Routes one queue job. Throws only on infrastructure errors (the queue then delivers it again). */
export async function handleJob(engine: Engine, job: ActiveJob, opts: WorkerOptions): Promise<void> {
  const data = job.data as RunnerJobData
  if (job.name === 'step') return stepJob(engine, job, data, opts)
  if (job.name === 'time' || job.name === 'timeout' || job.name === 'resume') return awaitJob(engine, job, data, opts)
  engine.onError(new Error(`Unknown runner job "${job.name}" (id ${job.id}): ignored.`))
}

async function stepJob(engine: Engine, job: ActiveJob, data: RunnerJobData, opts: WorkerOptions) {
  const { runId, step } = data
  const attempt = data.attempt ?? 1
  const now = attempt > 1 ? await engine.storeNow() : engine.estNow()
  // a first attempt's step.started rides behind the claiming compare-and-set (fenced by the lease)
  let spec: { lease: string; stored: Promise<boolean> } | undefined
  const onWrite = (d: RunDoc, v: Claimed) => {
    if (v.kind !== 'claimed' || attempt !== 1 || v.takeover) return
    const stored = appendStartedFenced(engine, runId, d, step, v.lease, job.id)
    stored.catch(() => {}) // awaited below unless this write was superseded
    spec = { lease: v.lease, stored }
  }
  const { value } = await engine.states.update<Claimed>(
    runId,
    (doc) => {
      const s = doc?.steps[step]
      if (doc && s && s.owner === job.id && needsRepair(doc, s)) return { kind: 'repair', doc }
      if (!doc || !s || doc.status !== 'running' || s.attempt !== attempt) return { kind: 'noop' }
      if (s.status === 'retrying' && (s.nextRetryAt ?? 0) > now) return { kind: 'early', waitMs: (s.nextRetryAt ?? 0) - now }
      if (s.status === 'ready' || s.status === 'retrying' || (s.status === 'running' && s.owner === job.id)) {
        const takeover = s.status === 'running'
        return { kind: 'claimed', lease: engine.claim(s, job, now), doc, takeover }
      }
      return { kind: 'noop' }
    },
    { onWrite },
  )
  if (value.kind === 'early') {
    await engine.enqueue('step', `${baseId(job.id, 4)}~${now}`, data, value.waitMs)
  } else if (value.kind === 'repair') {
    await repairJob(engine, job, value.doc, opts)
  } else if (value.kind === 'claimed') {
    // a take-over is traced only when the execution it replaces had started (its step.started is stored)
    if (value.takeover) await appendRecovered(engine, runId, step, attempt, value.lease, job.id, keys.started(step, attempt))
    const stored = spec?.lease === value.lease && (await spec.stored)
    if (!stored) await appendStarted(engine, runId, value.doc, step, attempt, job.id)
    await execute(engine, job, value.doc, step, value.lease, opts, value.takeover)
  }
}

async function awaitJob(engine: Engine, job: ActiveJob, data: RunnerJobData, opts: WorkerOptions) {
  const { runId, step } = data
  const pos = data.pos ?? 0
  const now = job.name === 'resume' ? engine.estNow() : await engine.storeNow()
  type R =
    | { kind: 'claimed'; lease: string; doc: RunDoc; takeover: boolean }
    | { kind: 'early'; waitMs: number }
    | { kind: 'timedOut' }
    | { kind: 'repair'; doc: RunDoc }
    | { kind: 'noop' }
  const { value, doc } = await engine.states.update<R>(runId, (d) => {
    const s = d?.steps[step]
    const r = s?.records[pos]
    if (d && s && s.owner === job.id && needsRepair(d, s)) return { kind: 'repair', doc: d }
    if (!d || !s || !r || r.t === 'do' || d.status !== 'running') return { kind: 'noop' }
    if (job.name === 'time' && r.t === 'time' && r.state === 'pending') {
      if (r.at > now) return { kind: 'early', waitMs: r.at - now }
      r.state = 'resolved'
      r.doneAt = now
    }
    let timedOut = false
    if (job.name === 'timeout' && r.t !== 'time' && r.state === 'pending') {
      if ((r.timeoutAt ?? 0) > now) return { kind: 'early', waitMs: (r.timeoutAt ?? 0) - now }
      r.state = 'timedOut'
      r.doneAt = now
      timedOut = true
    }
    const waiting = s.status === 'suspended' && s.waitingOn === pos && r.state !== 'pending'
    if (waiting || (s.status === 'running' && s.owner === job.id)) {
      const takeover = s.status === 'running'
      return { kind: 'claimed', lease: engine.claim(s, job, now), doc: d, takeover }
    }
    return timedOut ? { kind: 'timedOut' } : { kind: 'noop' }
  })
  if (value.kind === 'early') {
    await engine.enqueue(job.name as 'time', `${baseId(job.id, 5)}~${now}`, data, value.waitMs)
    return
  }
  if (value.kind === 'repair') return repairJob(engine, job, value.doc, opts)
  if (value.kind === 'noop' || !doc) return
  const s = doc.steps[step]
  const r = s?.records[pos]
  if (!s || !r || r.t === 'do') return
  if (value.kind === 'claimed' && value.takeover) {
    // the execution it replaces had started once its step.resumed (or step.await.timeout) was stored
    const resumedKey = r.state === 'timedOut' ? keys.timedOut(step, pos) : keys.resumed(step, pos)
    await appendRecovered(engine, runId, step, s.attempt, value.lease, job.id, resumedKey)
  }
  // the await's announcement first (its own append may have failed before it was resolved)
  if (r.state === 'timedOut' || value.kind === 'claimed') await appendAwaited(engine, runId, step, pos, r)
  if (r.state === 'timedOut') {
    await engine.append(
      runId,
      step,
      'step.await.timeout',
      { awaitType: r.t, timeoutAt: iso(r.timeoutAt ?? now) },
      keys.timedOut(step, pos),
      {
        attempt: s.attempt,
      },
    )
  } else if (r.state === 'resolved' && value.kind === 'claimed') {
    await appendResumed(engine, runId, step, s.attempt, pos, r)
  }
  if (r.t === 'event' && r.state === 'timedOut') await engine.store.unwatchKind(r.kind, runId)
  if (value.kind === 'claimed') await execute(engine, job, doc, step, value.lease, opts, value.takeover)
}

/** Runs the handler of a claimed step; completes, fails (maybe retrying) or leaves it suspended. */
async function execute(engine: Engine, job: ActiveJob, doc: RunDoc, step: string, lease: string, opts: WorkerOptions, takeover = false) {
  const flow = engine.flowOf(doc)
  const def = flow.steps[step]
  const s = doc.steps[step]
  if (!def || !s) return
  const results: Record<string, unknown> = {}
  for (const a of ancestors(flow, step)) results[a] = doc.steps[a]?.result
  const runId = (job.data as RunnerJobData).runId
  const input = await engine.inputOf(runId)
  const ex = new Execution(runId, step, s.attempt, lease, job.id, flow, input, s.records, results)
  ex.takeover = takeover
  engine.register(ex)
  const timers: Array<ReturnType<typeof setInterval>> = []
  let timeoutErr: Error | undefined
  if (def.timeout !== undefined) {
    const ms = parseDuration(def.timeout)
    timers.push(
      setTimeout(() => {
        timeoutErr = new Error(`Step "${step}" ran longer than its timeout of ${ms} ms.`)
        ex.stop('lease')
      }, ms),
    )
  }
  timers.push(
    setInterval(() => {
      engine.states.read(ex.runId).then((d) => {
        const cur = d?.steps[step]
        if (d?.status !== 'running' || cur?.lease !== lease) ex.stop(d?.status === 'running' ? 'lease' : 'ended')
      }, engine.onError)
    }, opts.cancelPollMs),
  )
  let outcome: { ok: true; value: unknown } | { ok: false; err: unknown }
  try {
    const ctx = createContext(engine, ex)
    const running = Promise.resolve().then(() => def.handler(input, ctx))
    outcome = await Promise.race([
      running.then(
        (value) => ({ ok: true as const, value }),
        (err: unknown) => ({ ok: false as const, err }),
      ),
      ex.stopped.then((gone) => ({ ok: false as const, err: gone })),
    ])
    if (outcome.ok) await flushAndFence(engine, ex)
  } catch (err) {
    outcome = { ok: false, err }
  } finally {
    for (const t of timers) clearTimeout(t)
    engine.unregister(ex)
  }
  if (timeoutErr) outcome = { ok: false, err: timeoutErr }
  else if (ex.gone || (!outcome.ok && outcome.err instanceof ExecutionGone)) {
    // dropped: suspended, fenced or ended; handed back goes back to the queue
    const gone = ex.gone ?? (outcome as { err: ExecutionGone }).err
    if (gone.why === 'handback') throw gone.cause ?? gone
    return
  }
  if (outcome.ok) await complete(engine, job, ex, outcome.value, opts)
  else await fail(engine, ex, outcome.err)
}

/**
 * Completes a step in one CAS that also claims the first step it made ready
 * (inline continuation: the chain goes on in this job, with no queue round
 * trip); the other ready steps get their jobs.
 */
async function complete(engine: Engine, job: ActiveJob, ex: Execution, result: unknown, opts: WorkerOptions) {
  const now = engine.estNow()
  const inline = !engine.stopping
  // the continuation's appends ride behind the compare-and-set (fenced by the new lease)
  let spec: { lease: string; stored: Promise<boolean> } | undefined
  const onWrite = (d: RunDoc, v: { next?: string; lease?: string } | undefined) => {
    if (v?.next === undefined || v.lease === undefined) return
    const stored = appendContinuation(engine, ex.runId, d, ex.step, v.next, v.lease, job.id)
    stored.catch(() => {}) // awaited below unless this write was superseded
    spec = { lease: v.lease, stored }
  }
  const { value, doc } = await engine.states.update(
    ex.runId,
    (d) => {
      const s = d?.steps[ex.step]
      if (!d || !s || d.status !== 'running' || s.status !== 'running' || s.lease !== ex.lease) return undefined
      s.status = 'completed'
      s.duration = Math.max(0, now - (s.startedAt ?? now))
      if (result !== undefined) s.result = JSON.parse(JSON.stringify(result) ?? 'null')
      s.error = undefined
      delete s.lease
      closeAwaits(s, 'canceled', now)
      const ready = promoteReady(d, ex.flow)
      if (Object.values(d.steps).every((x) => x.status === 'completed')) {
        d.status = 'completed'
        d.endedAt = now
      }
      const next = inline ? ready[0] : undefined
      const ns = next === undefined ? undefined : d.steps[next]
      return next !== undefined && ns ? { next, lease: engine.claim(ns, job, now) } : {}
    },
    { onWrite },
  )
  if (!value || !doc) return
  if (value.next !== undefined && spec?.lease === value.lease && (await spec.stored)) {
    await afterComplete(engine, ex.runId, ex.step, doc, now) // step.completed known stored: the other ready steps' jobs
    await execute(engine, job, doc, value.next, value.lease, opts)
    return
  }
  const effects = afterComplete(engine, ex.runId, ex.step, doc, now)
  if (value.next === undefined || value.lease === undefined) return effects
  // step.started goes out right behind step.completed (one round trip for both), stored only
  // once step.completed is: never the second without the first (a failed append throws here,
  // and the re-delivered job repairs both, in order)
  const started = appendStarted(engine, ex.runId, doc, value.next, 1, job.id, ex.step)
  await Promise.all([effects, started])
  await execute(engine, job, doc, value.next, value.lease, opts)
}

/**
 * A re-delivered job (its worker crashed or handed it back): repeats the
 * effects of every step it owns, then takes over the step it was running.
 */
async function repairJob(engine: Engine, job: ActiveJob, doc: RunDoc, opts: WorkerOptions) {
  const runId = (job.data as RunnerJobData).runId
  const owned = Object.entries(doc.steps).filter(([, s]) => s.owner === job.id)
  for (const [name, s] of owned) if (s.status !== 'running') await repairOwned(engine, runId, name, doc)
  const running = owned.find(([, s]) => s.status === 'running')?.[0]
  if (running === undefined || doc.status !== 'running') return
  const now = engine.estNow()
  const { value, doc: d } = await engine.states.update(runId, (cur) => {
    const s = cur?.steps[running]
    if (!cur || !s || cur.status !== 'running' || s.status !== 'running' || s.owner !== job.id) return undefined
    return engine.claim(s, job, now)
  })
  if (value === undefined || !d) return
  const attempt = d.steps[running]?.attempt ?? 1
  await appendRecovered(engine, runId, running, attempt, value, job.id, keys.started(running, attempt))
  await appendStarted(engine, runId, d, running, attempt, job.id)
  await execute(engine, job, d, running, value, opts, true)
}

async function fail(engine: Engine, ex: Execution, err: unknown) {
  const message = err instanceof Error ? err.message : String(err)
  const policy = normalizeRetry(ex.flow.steps[ex.step]?.retry)
  const retry = isRetriable(err) && ex.attempt < policy.attempts
  const delayMs = retry ? retryDelay(policy, ex.attempt + 1, err) : 0
  const now = await engine.storeNow()
  const { value, doc } = await engine.states.update(ex.runId, (d) => {
    const s = d?.steps[ex.step]
    if (!d || !s || d.status !== 'running' || s.status !== 'running' || s.lease !== ex.lease) return false
    delete s.lease
    s.error = message
    if (retry) {
      s.status = 'retrying'
      s.attempt = ex.attempt + 1
      s.nextRetryAt = now + delayMs
      s.retryDelayMs = delayMs
      delete s.startedAt
    } else {
      s.status = 'failed'
      closeAwaits(s, 'canceled', now)
      d.status = 'failed'
      d.error = message
      d.endedAt = now
    }
    return true
  })
  if (!value || !doc) return
  await afterFail(engine, ex.runId, ex.step, doc, ex.attempt, now)
  if (!retry) for (const other of engine.local.get(ex.runId) ?? []) other.stop('ended')
}

/** A job id without the re-check suffix that an early fire added (`<id>~<now>`). */
function baseId(id: string, parts: number): string {
  return id.split('~').slice(0, parts).join('~')
}
