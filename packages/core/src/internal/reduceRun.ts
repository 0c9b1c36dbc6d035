// Run-level transitions, shared by reduceFlow and applyEvent (through foldEvent) so both give the same state.

import type { EventRecord } from '../events.js'
import type { QueueWait } from '../flowState.js'
import type { RunStatus } from '../streamStore.js'
import { type Fields, isName, isRecord, num, put, queuedOf, rerunOfData, str, strings, toText } from './reduceData.js'
import type { RunFields, StepsMap } from './reduceParts.js'

const RUN_STATUSES: readonly unknown[] = ['pending', 'queued', 'running', 'awaiting', 'completed', 'failed', 'canceled']

/**
 * The run fields of a FlowState, in its order, and how each is read from a state from elsewhere
 * (a bad value reads as undefined, a bad status as `pending`); `flow.started` reads its data's
 * `name`, `input`, `schedule`, `parent` and `rerunOf` the same way.
 */
const RUN_READERS = {
  runId: str,
  name: str,
  status: (v: unknown) => (RUN_STATUSES.includes(v) ? (v as RunStatus) : 'pending'),
  queued: (v: unknown) => (isRecord(v) ? (v as unknown as QueueWait) : undefined),
  input: (v: unknown) => v,
  startedAt: str,
  completedAt: str,
  duration: number,
  result: (v: unknown) => v,
  error: str,
  cancelReason: str,
  schedule: (v: unknown) => strings(v, 'id', 'tick'),
  parent: (v: unknown) => strings(v, 'runId', 'step'),
  version: number,
  rerunOf: rerunOfData,
  children: number,
} satisfies { [K in keyof RunFields]-?: (v: unknown) => RunFields[K] | undefined }

/**
 * The run fields of `s` (a state from elsewhere, or nothing for a new run) as the reducer keeps
 * them: every field, in a FlowState's order, undefined when absent (one shape for every run
 * object: the transitions copy it with spreads).
 */
export function readRun(s: Readonly<Record<string, unknown>>): RunFields {
  const run: Record<string, unknown> = {}
  for (const k in RUN_READERS) run[k] = RUN_READERS[k as keyof RunFields](s[k])
  return run as unknown as RunFields
}

const STARTED = ['name', 'input', 'schedule', 'parent', 'rerunOf'] as const

function number(v: unknown): number | undefined {
  return typeof v === 'number' ? v : undefined
}

/** True for the statuses that stick: `completed`, `failed`, `canceled`. */
export function isTerminalStatus(s: RunStatus): boolean {
  return s === 'completed' || s === 'failed' || s === 'canceled'
}

/**
 * `run` after `e`, or `run` itself when `e` changes none of its fields. The
 * status it gives a started run is `running`; the caller then settles it
 * with {@link settleStatus} (which needs the steps).
 */
export function nextRun(run: RunFields, e: EventRecord, d: Fields): RunFields {
  let out = run
  if (run.runId === undefined && isName(e.flow)) out = { ...run, runId: e.flow }
  const kind = e.kind
  const status = run.status
  switch (kind) {
    case 'flow.started': {
      if (status !== 'pending') return out
      const next: RunFields = { ...out, status: 'running' }
      for (const k of STARTED) put(next, k, RUN_READERS[k](d[k]))
      put(next, 'startedAt', str(e.ts))
      const version = d.version
      if (Number.isInteger(version) && (version as number) > 0) next.version = version as number
      return next
    }
    case 'step.await.run':
      // a child run invoked (once per call position: the store keeps one event per idempotency key)
      return { ...out, children: (run.children ?? 0) + 1 }
    case 'flow.queued':
      // a started run that has not ended waits for admission (again, when a later limit queues it anew)
      return status === 'pending' || isTerminalStatus(status) ? out : { ...out, status: 'queued', queued: queuedOf(d) }
    case 'flow.debounced':
      // a later call folded into the run while it waits: its input, the new due time
      return status === 'queued'
        ? { ...out, input: d.input, queued: queuedOf({ ...run.queued, until: d.until ?? run.queued?.until }) }
        : out
    case 'step.started':
      // a queued run is admitted: it runs from its first step.started
      return status === 'queued' ? { ...out, status: 'running' } : out
    case 'flow.completed':
    case 'flow.failed':
    case 'flow.canceled': {
      if (isTerminalStatus(status)) return out
      const next: RunFields = { ...out, status: kind.slice(5) as RunStatus }
      put(next, 'completedAt', str(e.ts))
      put(next, 'duration', num(d.duration))
      if (kind === 'flow.completed') put(next, 'result', d.result)
      else if (kind === 'flow.failed') next.error = toText(d.error)
      else put(next, 'cancelReason', str(d.reason))
      return next
    }
    default:
      return out
  }
}

/**
 * The status of a run given its steps: `pending`, `queued` and terminal statuses stay;
 * a started run is `awaiting` while at least one step awaits and none is
 * running, retrying or queued (waiting for a slot to run), else `running`.
 */
export function settleStatus(status: RunStatus, steps: StepsMap): RunStatus {
  if (status !== 'running' && status !== 'awaiting') return status
  const statuses = Object.values(steps).map((s) => (isRecord(s) ? s.status : undefined))
  return statuses.includes('awaiting') && !statuses.some((s) => s === 'running' || s === 'retrying' || s === 'queued')
    ? 'awaiting'
    : 'running'
}
