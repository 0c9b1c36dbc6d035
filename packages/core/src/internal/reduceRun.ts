// Run-level transitions, shared by reduceFlow and applyEvent so both give the same state.

import type { EventRecord } from '../events.js'
import type { RunStatus } from '../streamStore.js'
import { fieldsOf, isRecord, num, queuedOf, rerunOfData, str, strings, toText } from './reduceData.js'
import type { RunFields, StepsMap } from './reduceParts.js'

/** True for the statuses that stick: `completed`, `failed`, `canceled`. */
export function isTerminalStatus(s: RunStatus): boolean {
  return s === 'completed' || s === 'failed' || s === 'canceled'
}

/**
 * `run` after `e`, or `run` itself when `e` changes none of its fields. The
 * status it gives a started run is `running`; the caller then settles it
 * with {@link settleStatus} (which needs the steps).
 */
export function nextRun(run: RunFields, e: EventRecord): RunFields {
  let out = run
  if (run.runId === undefined && typeof e.flow === 'string' && e.flow !== '') out = { runId: e.flow, ...run }
  switch (e.kind) {
    case 'flow.started': {
      if (run.status !== 'pending') return out
      const d = fieldsOf(e.data)
      const next: RunFields = { ...out, status: 'running' }
      const name = str(d.name)
      if (name !== undefined) next.name = name
      if (d.input !== undefined) next.input = d.input
      const ts = str(e.ts)
      if (ts !== undefined) next.startedAt = ts
      const schedule = strings(d.schedule, 'id', 'tick')
      if (schedule !== undefined) next.schedule = schedule
      const parent = strings(d.parent, 'runId', 'step')
      if (parent !== undefined) next.parent = parent
      const version = d.version
      if (typeof version === 'number' && Number.isInteger(version) && version > 0) next.version = version
      const rerunOf = rerunOfData(d.rerunOf)
      if (rerunOf !== undefined) next.rerunOf = rerunOf
      return next
    }
    case 'step.await.run':
      // a child run invoked (once per call position: the store keeps one event per idempotency key)
      return { ...out, children: (run.children ?? 0) + 1 }
    case 'flow.queued':
      // a started run that has not ended waits for admission (again, when a later limit queues it anew)
      return run.status === 'pending' || isTerminalStatus(run.status) ? out : { ...out, status: 'queued', queued: queuedOf(e.data) }
    case 'flow.debounced': {
      // a later call folded into the run while it waits: its input, the new due time
      if (run.status !== 'queued') return out
      const d = fieldsOf(e.data)
      return { ...out, input: d.input, queued: queuedOf({ ...run.queued, until: d.until ?? run.queued?.until }) }
    }
    case 'step.started':
      // a queued run is admitted: it runs from its first step.started
      return run.status === 'queued' ? { ...out, status: 'running' } : out
    case 'flow.completed': {
      if (isTerminalStatus(run.status)) return out
      const d = fieldsOf(e.data)
      const next = finish(out, 'completed', e, d.duration)
      if (d.result !== undefined) next.result = d.result
      return next
    }
    case 'flow.failed': {
      if (isTerminalStatus(run.status)) return out
      const d = fieldsOf(e.data)
      const next = finish(out, 'failed', e, d.duration)
      next.error = toText(d.error)
      return next
    }
    case 'flow.canceled': {
      if (isTerminalStatus(run.status)) return out
      const d = fieldsOf(e.data)
      const next = finish(out, 'canceled', e, d.duration)
      const reason = str(d.reason)
      if (reason !== undefined) next.cancelReason = reason
      return next
    }
    default:
      return out
  }
}

function finish(run: RunFields, status: RunStatus, e: EventRecord, duration: unknown): RunFields {
  const next: RunFields = { ...run, status }
  const ts = str(e.ts)
  if (ts !== undefined) next.completedAt = ts
  const ms = num(duration)
  if (ms !== undefined) next.duration = ms
  return next
}

/**
 * The status of a run given its steps: `pending`, `queued` and terminal statuses stay;
 * a started run is `awaiting` while at least one step awaits and none is
 * running, retrying or queued (waiting for a slot to run), else `running`.
 */
export function settleStatus(status: RunStatus, steps: StepsMap): RunStatus {
  if (status !== 'running' && status !== 'awaiting') return status
  let awaiting = false
  for (const name in steps) {
    const s = steps[name]
    if (!isRecord(s) || !Object.hasOwn(steps, name)) continue
    const st = s.status
    if (st === 'running' || st === 'retrying' || st === 'queued') return 'running'
    if (st === 'awaiting') awaiting = true
  }
  return awaiting ? 'awaiting' : 'running'
}
