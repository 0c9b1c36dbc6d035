import { type AppendFence, isLeanflowError } from '@leanflow/core'
import type { Engine } from './engine.js'
import { keys } from './jobIds.js'
import { type AwaitRec, type RunDoc, type StepDoc, sinkSteps } from './runDoc.js'

/** ISO 8601 of a store-clock ms. */
export function iso(ms: number): string {
  return new Date(ms).toISOString()
}

/**
 * Appends `step.completed` of each of `steps` that the document shows completed, from the
 * document (same idempotency key: the store keeps the first one), skipping those this process
 * saw stored. Called before any event that must come after them in the log — a `step.started`
 * of a step that needs them, a terminal `flow.*` — so the log stays causally ordered even when
 * the completing job's own append failed and its repair comes later.
 */
export async function appendCompletions(engine: Engine, runId: string, doc: RunDoc, steps: Iterable<string>) {
  const missing = [...steps].filter((name) => doc.steps[name]?.status === 'completed' && !engine.knows(runId, keys.completed(name)))
  // independent of one another (each one's own needs were stored before it started): pipelined
  await Promise.all(missing.map((name) => appendCompleted(engine, runId, doc, name)))
}

/** Appends `step.completed` of a completed step from the document (`cond`: fence); notes it stored. */
async function appendCompleted(engine: Engine, runId: string, doc: RunDoc, name: string, cond: { fence?: AppendFence } = {}) {
  const s = doc.steps[name] as StepDoc
  const duration = s.duration ?? 0
  const data = s.result === undefined ? { duration } : { result: s.result, duration }
  // the worker appending it: the one that ran the step, unless its append was lost and another repairs it
  // (not kept in the run state: a worker id in every step would grow every compare-and-set's JSON)
  await engine.append(runId, name, 'step.completed', data, keys.completed(name), { attempt: s.attempt, worker: engine.workerId }, cond)
  engine.mark(runId, keys.completed(name))
}

/**
 * The inline continuation's appends, issued in the same tick as the compare-and-set that
 * completes `step` and claims `next` with `lease` (pipelined behind it: one round trip for all
 * three): `step.completed` of `step`, then `step.started` of `next` conditioned on it (`after`).
 * Both are fenced by the new lease, which only that write puts in the run's fences: when the
 * write was not applied (a conflict), or the fence changed since (a cancel), the store refuses
 * them and writes nothing. Resolves true when both are stored; false when refused (the caller
 * then appends them the ordinary way, after the write's reply); throws on store failures.
 * Must be called synchronously after the write is issued (every store call below is issued
 * before the first await).
 */
export async function appendContinuation(
  engine: Engine,
  runId: string,
  doc: RunDoc,
  step: string,
  next: string,
  lease: string,
  jobId: string,
): Promise<boolean> {
  const needs = engine.flowOf(doc).steps[next]?.needs ?? []
  // the other needs' step.completed must be stored first: only when this process saw them stored
  if (!needs.every((n) => n === step || engine.knows(runId, keys.completed(n)))) return false
  const fence = { key: next, token: lease }
  const completed = appendCompleted(engine, runId, doc, step, { fence })
  const started = engine.append(
    runId,
    next,
    'step.started',
    {},
    keys.started(next, 1),
    { attempt: 1, jobId, worker: engine.workerId },
    { fence, after: keys.completed(step) },
  )
  const [c, s] = await Promise.allSettled([completed, started])
  for (const r of [c, s]) if (r.status === 'rejected' && !refused(r.reason)) throw r.reason
  return c.status === 'fulfilled' && s.status === 'fulfilled'
}

/**
 * `step.started` of a first attempt claimed with `lease`, issued in the same tick as the
 * compare-and-set that claims it (pipelined behind it), fenced by that lease: refused unless the
 * write applied. Only when this process saw every needed `step.completed` stored (else false,
 * nothing issued). Resolves true when stored, false when refused; throws on store failures.
 */
export async function appendStartedFenced(engine: Engine, runId: string, doc: RunDoc, step: string, lease: string, jobId: string) {
  const needs = engine.flowOf(doc).steps[step]?.needs ?? []
  if (doc.steps[step]?.attempt !== 1 || !needs.every((n) => engine.knows(runId, keys.completed(n)))) return false
  const fence = { key: step, token: lease }
  try {
    await engine.append(runId, step, 'step.started', {}, keys.started(step, 1), { attempt: 1, jobId, worker: engine.workerId }, { fence })
    return true
  } catch (err) {
    if (refused(err)) return false
    throw err
  }
}

/**
 * The trace of a take-over: a worker claimed a step whose execution died (its job was delivered
 * again while the step was running), so the handler runs again from the top and code outside
 * `ctx.do` may repeat. A `step.started` for the same attempt with `data.recovered: true`, once
 * per lease, fenced by it (a take-over that lost the step writes nothing), and only when the
 * append keyed `startedKey` — the event stored before the replaced execution ran its handler —
 * is stored (checked atomically: an execution that died before it never ran the handler).
 */
export async function appendRecovered(
  engine: Engine,
  runId: string,
  step: string,
  attempt: number,
  lease: string,
  jobId: string,
  startedKey: string,
) {
  const cond = { fence: { key: step, token: lease }, after: startedKey }
  try {
    await engine.append(
      runId,
      step,
      'step.started',
      { recovered: true },
      keys.recovered(step, attempt, lease),
      { attempt, jobId, worker: engine.workerId },
      cond,
    )
  } catch (err) {
    if (!refused(err)) throw err
  }
}

/** A conditional append the store refused (fence or `after`): nothing was written. */
function refused(err: unknown): boolean {
  return isLeanflowError(err, 'NON_RETRIABLE') || isLeanflowError(err, 'INVALID_ARGUMENT')
}

/** Appends a run's terminal event after every `step.completed` the document shows (never before one). */
export async function appendTerminal(engine: Engine, runId: string, doc: RunDoc, kind: string, data: unknown) {
  const missing = Object.keys(doc.steps).filter((n) => doc.steps[n]?.status === 'completed' && !engine.knows(runId, keys.completed(n)))
  const last = missing.length === 1 ? missing[0] : undefined
  if (last !== undefined) {
    // one step.completed to go (a chain's last step): the terminal event rides behind it in the
    // same round trip, stored only once it is (`after`, checked atomically by the store)
    const [c, t] = await Promise.allSettled([
      appendCompleted(engine, runId, doc, last),
      engine.append(runId, undefined, kind, data, keys.flowEnded, undefined, { after: keys.completed(last) }),
    ])
    if (c.status === 'rejected') throw c.reason
    if (t.status === 'rejected') throw t.reason
  } else {
    await appendCompletions(engine, runId, doc, Object.keys(doc.steps))
    await engine.append(runId, undefined, kind, data, keys.flowEnded)
  }
  engine.forgetRun(runId)
}

/**
 * Appends `step.started` of a claimed step, after the `step.completed` of every step it needs
 * and, for a retry, after the `step.failed` / `step.retry` of the attempt before (its job may
 * have been started by another step's `enqueueReady` while that append failed). `pending`: a
 * needed step whose `step.completed` append was just issued (the inline continuation): this
 * one goes out right behind it, conditioned on it (`after`), in the same round trip.
 */
export async function appendStarted(
  engine: Engine,
  runId: string,
  doc: RunDoc,
  step: string,
  attempt: number,
  jobId: string,
  pending?: string,
) {
  const needs = engine.flowOf(doc).steps[step]?.needs ?? []
  await appendCompletions(
    engine,
    runId,
    doc,
    needs.filter((n) => n !== pending),
  )
  const s = doc.steps[step]
  if (attempt > 1 && s) await appendRetried(engine, runId, step, s, attempt, s.startedAt ?? doc.startedAt)
  // behind a step.completed still in flight: stored only once that one is (atomic in the store)
  const after = pending === undefined ? undefined : keys.completed(pending)
  await engine.append(
    runId,
    step,
    'step.started',
    {},
    keys.started(step, attempt),
    { attempt, jobId, worker: engine.workerId },
    after ? { after } : {},
  )
}

/**
 * The effects of a completed step, derived from the document alone, so a
 * re-delivered job repeats them harmlessly (idempotency keys, idempotent job ids).
 * Sequential: `flow.completed` is appended only once every `step.completed` is stored.
 */
export async function afterComplete(engine: Engine, runId: string, step: string, doc: RunDoc, now = engine.estNow()) {
  const s = doc.steps[step]
  if (!s) return
  if (doc.status === 'completed') {
    const result: Record<string, unknown> = {}
    for (const sink of sinkSteps(engine.flowOf(doc))) result[sink] = doc.steps[sink]?.result
    const total = Math.max(0, (doc.endedAt ?? now) - doc.startedAt)
    await appendTerminal(engine, runId, doc, 'flow.completed', { result, duration: total })
    return
  }
  await appendCompletions(engine, runId, doc, [step])
  if (doc.status === 'running') await engine.enqueueReady(runId, doc, now)
}

/**
 * Appends `step.failed` of attempt `attempt - 1` and `step.retry` of `attempt`, in that order, from
 * the document (`error`, `nextRetryAt`, `retryDelayMs` of the step: they stay until the step
 * fails again or completes), skipping those this process saw stored.
 */
async function appendRetried(engine: Engine, runId: string, step: string, s: StepDoc, attempt: number, now: number) {
  const error = s.error ?? 'failed'
  const failedKey = keys.failed(step, attempt - 1)
  if (!engine.knows(runId, failedKey)) {
    const data = { error, willRetry: true, nextRetryAt: iso(s.nextRetryAt ?? now) }
    await engine.append(runId, step, 'step.failed', data, failedKey, { attempt: attempt - 1 })
    engine.mark(runId, failedKey)
  }
  const retryKey = keys.retry(step, attempt)
  if (!engine.knows(runId, retryKey)) {
    await engine.append(runId, step, 'step.retry', { reason: error, delayMs: s.retryDelayMs ?? 0 }, retryKey, { attempt })
    engine.mark(runId, retryKey)
  }
}

/** The effects of a failed attempt (`retrying` or `failed` in the document), re-derivable likewise. */
export async function afterFail(engine: Engine, runId: string, step: string, doc: RunDoc, attempt: number, now: number) {
  const s = doc.steps[step]
  if (!s) return
  if (s.status === 'retrying') {
    await appendRetried(engine, runId, step, s, s.attempt, now)
    await engine.enqueueStep(runId, step, s.attempt, (s.nextRetryAt ?? now) - engine.estNow())
    return
  }
  const error = s.error ?? 'failed'
  await engine.append(runId, step, 'step.failed', { error, willRetry: false }, keys.failed(step, attempt), { attempt })
  if (doc.status === 'failed') {
    const duration = Math.max(0, (doc.endedAt ?? now) - doc.startedAt)
    await appendTerminal(engine, runId, doc, 'flow.failed', { error: doc.error ?? error, duration })
  }
}

/** The `step.await.*` data of a record. */
export function awaitEventData(r: AwaitRec): { kind: string; data: Record<string, unknown> } {
  const timeoutAt = r.timeoutAt === undefined ? {} : { timeoutAt: iso(r.timeoutAt) }
  if (r.t === 'time') return { kind: 'step.await.time', data: { resumeAt: iso(r.at) } }
  if (r.t === 'event')
    return { kind: 'step.await.event', data: { eventKind: r.kind, ...(r.match ? { match: r.match } : {}), ...timeoutAt } }
  return {
    kind: 'step.await.trigger',
    data: { triggerId: r.id, triggerType: r.type, ...(r.payload !== undefined ? { payload: r.payload } : {}), ...timeoutAt },
  }
}

/** Appends an await's `step.await.*` (once per position) and queues its timer or timeout job. */
export async function announceAwait(engine: Engine, runId: string, step: string, pos: number, r: AwaitRec) {
  await appendAwaited(engine, runId, step, pos, r)
  if (r.state !== 'pending') return
  // the delay from the store clock as estimated now, after the CAS and the append took their
  // time (a job that still fires early re-checks the store clock and waits again)
  if (r.t === 'time') await engine.enqueueTime(runId, step, r, pos, r.at - engine.estNow())
  else if (r.timeoutAt !== undefined) await engine.enqueueTimeout(runId, step, r, pos, r.timeoutAt - engine.estNow())
}

/**
 * Appends an await's `step.await.*` from its record (once per position; skipped when this process
 * saw it stored). Also called before its `step.resumed` / `step.await.timeout`: the await may be
 * resolved (a trigger, an event) while the append that announced it failed.
 */
export async function appendAwaited(engine: Engine, runId: string, step: string, pos: number, r: AwaitRec) {
  const key = keys.awaited(step, pos)
  if (engine.knows(runId, key)) return
  const { kind, data } = awaitEventData(r)
  await engine.append(runId, step, kind, data, key, { attempt: r.attempt })
  engine.mark(runId, key)
}

/** True when a step's state shows effects its owning job may not have finished (it was re-delivered after a crash). */
export function needsRepair(doc: RunDoc, s: StepDoc): boolean {
  if (s.status === 'completed' || s.status === 'failed' || s.status === 'retrying') return true
  return doc.status === 'running' && s.status === 'suspended'
}

/** Repeats the effects of the owning job's last change: after a crash they may be missing. */
export async function repairOwned(engine: Engine, runId: string, step: string, doc: RunDoc) {
  const s = doc.steps[step]
  if (!s) return
  const now = await engine.storeNow()
  if (s.status === 'completed') return afterComplete(engine, runId, step, doc, now)
  if (s.status === 'retrying') return afterFail(engine, runId, step, doc, s.attempt - 1, now)
  if (s.status === 'failed') return afterFail(engine, runId, step, doc, s.attempt, now)
  const r = s.records[s.waitingOn ?? -1]
  if (!r || r.t === 'do') return
  await announceAwait(engine, runId, step, s.waitingOn ?? 0, r)
  if (r.t === 'event') await engine.matchEvents(runId)
  else if (r.state !== 'pending') await engine.enqueueResume(runId, step, s.attempt, s.waitingOn ?? 0)
}

/** Appends `step.resumed` for the await at `pos` (once: idempotency key by position). */
export async function appendResumed(
  engine: Engine,
  runId: string,
  step: string,
  attempt: number,
  pos: number,
  r: { t: 'time' | 'event' | 'trigger'; since: number; doneAt?: number },
) {
  const reason = r.t === 'time' ? 'time elapsed' : r.t === 'event' ? 'event received' : 'trigger resolved'
  const data = { reason, awaitType: r.t, awaitDuration: Math.max(0, (r.doneAt ?? r.since) - r.since) }
  await engine.append(runId, step, 'step.resumed', data, keys.resumed(step, pos), { attempt })
}
