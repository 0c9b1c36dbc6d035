import type { Engine } from './engine.js'
import { keys } from './jobIds.js'
import { type AwaitRec, type RunDoc, type StepDoc, sinkSteps } from './runDoc.js'

/** ISO 8601 of a store-clock ms. */
export function iso(ms: number): string {
  return new Date(ms).toISOString()
}

/**
 * The effects of a completed step, derived from the document alone, so a
 * re-delivered job repeats them harmlessly (idempotency keys, idempotent job ids).
 */
export async function afterComplete(engine: Engine, runId: string, step: string, doc: RunDoc, now = engine.estNow()) {
  const s = doc.steps[step]
  if (!s) return
  const duration = s.duration ?? 0
  const data = s.result === undefined ? { duration } : { result: s.result, duration }
  const completed = engine.append(runId, step, 'step.completed', data, keys.completed(step), { attempt: s.attempt })
  if (doc.status === 'completed') {
    const result: Record<string, unknown> = {}
    for (const sink of sinkSteps(engine.flowOf(doc))) result[sink] = doc.steps[sink]?.result
    const total = Math.max(0, (doc.endedAt ?? now) - doc.startedAt)
    // issued right behind step.completed on the same connection (one round trip)
    await Promise.all([completed, engine.append(runId, undefined, 'flow.completed', { result, duration: total }, keys.flowEnded)])
    return
  }
  await completed
  if (doc.status === 'running') await engine.enqueueReady(runId, doc, now)
}

/** The effects of a failed attempt (`retrying` or `failed` in the document), re-derivable likewise. */
export async function afterFail(engine: Engine, runId: string, step: string, doc: RunDoc, attempt: number, now: number) {
  const s = doc.steps[step]
  if (!s) return
  const retry = s.status === 'retrying'
  const error = s.error ?? 'failed'
  const data = retry ? { error, willRetry: true, nextRetryAt: iso(s.nextRetryAt ?? now) } : { error, willRetry: false }
  await engine.append(runId, step, 'step.failed', data, keys.failed(step, attempt), { attempt })
  if (retry) {
    const delayMs = s.retryDelayMs ?? 0
    await engine.append(runId, step, 'step.retry', { reason: error, delayMs }, keys.retry(step, s.attempt), { attempt: s.attempt })
    await engine.enqueueStep(runId, step, s.attempt, (s.nextRetryAt ?? now) - now)
  } else if (doc.status === 'failed') {
    const duration = Math.max(0, (doc.endedAt ?? now) - doc.startedAt)
    await engine.append(runId, undefined, 'flow.failed', { error: doc.error ?? error, duration }, keys.flowEnded)
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
export async function announceAwait(engine: Engine, runId: string, step: string, pos: number, r: AwaitRec, now: number) {
  const { kind, data } = awaitEventData(r)
  await engine.append(runId, step, kind, data, keys.awaited(step, pos), { attempt: r.attempt })
  if (r.state !== 'pending') return
  if (r.t === 'time') await engine.enqueueTime(runId, step, r, pos, r.at - now)
  else if (r.timeoutAt !== undefined) await engine.enqueueTimeout(runId, step, r, pos, r.timeoutAt - now)
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
  await announceAwait(engine, runId, step, s.waitingOn ?? 0, r, now)
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
