// Run-level transitions, shared by reduceFlow and applyEvent (through foldEvent) so both give the same state.

import type { EventRecord } from '../events.js'
import type { StepState } from '../flowState.js'
import type { RunStatus } from '../streamStore.js'
import { type Fields, isName, num, put, queuedOf, str, strings, toText } from './reduceData.js'
import type { RunFields, StepsMap } from './reduceParts.js'

const RUN_STATUSES: readonly unknown[] = ['pending', 'queued', 'running', 'awaiting', 'completed', 'failed', 'canceled']

/** The run fields of a FlowState, in its order. */
const RUN_KEYS =
  /* @__PURE__ */ 'runId name status queued input startedAt completedAt duration result error cancelReason schedule parent version rerunOf children'.split(
    ' ',
  )

/**
 * The run fields of `s` (a state from elsewhere, or nothing for a new run) as the reducer keeps
 * them: every field, in a FlowState's order (one shape for every run object: the transitions copy
 * it with spreads), as `s` has them (as its steps are), but a status that is none reads as
 * `pending`.
 */
export function readRun(s: Readonly<Record<string, unknown>>): RunFields {
  const run: Record<string, unknown> = {}
  for (const k of RUN_KEYS) run[k] = s[k]
  if (!RUN_STATUSES.includes(run.status)) run.status = 'pending'
  return run as unknown as RunFields
}

/** True for the statuses that stick: `completed`, `failed`, `canceled`. */
export function isTerminalStatus(s: string): boolean {
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
      put(next, 'name', str(d.name))
      put(next, 'input', d.input)
      put(next, 'schedule', strings(d.schedule, 'id', 'tick'))
      put(next, 'parent', strings(d.parent, 'runId', 'step'))
      const version = d.version
      if (Number.isInteger(version) && (version as number) > 0) next.version = version as number
      put(next, 'rerunOf', strings(d.rerunOf, 'runId', 'from', true))
      put(next, 'startedAt', str(e.ts))
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
  const statuses = Object.values(steps).map((s) => (s as Partial<StepState> | null)?.status)
  return statuses.includes('awaiting') && !statuses.some((s) => s === 'running' || s === 'retrying' || s === 'queued')
    ? 'awaiting'
    : 'running'
}
