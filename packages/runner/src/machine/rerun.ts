import { LeanflowError } from '@leanflow/core'
import { queuedAppend } from './admission.js'
import type { Append, Outputs } from './commands.js'
import { completions, readyJobs } from './outputs.js'
import { type FlowGraph, promoteReady, type RunDoc, type StepDoc } from './runDoc.js'

/**
 * A rerun (`runner.rerun`): which steps of the old run are copied into the new one, and the new
 * run's document with them. Pure: the shell reads the old run and writes the new one.
 */

/** What a rerun starts from: the old run, the step to run again (absent: every step) and the old run's completed results to copy. */
export interface RerunOrigin {
  /** The old run's id (`flow.started.data.rerunOf.runId`). */
  of: string
  from?: string | undefined
  /** The steps copied as completed, with their recorded results (a step without a result has no `result` key). */
  copies: Record<string, { result?: unknown }>
}

/** `from` and every step downstream of it (that needs it, directly or transitively). */
export function descendants(flow: FlowGraph, from: string): Set<string> {
  const out = new Set([from])
  for (let grew = true; grew; ) {
    grew = false
    for (const [name, def] of Object.entries(flow.steps)) {
      if (!out.has(name) && (def.needs ?? []).some((n) => out.has(n))) {
        out.add(name)
        grew = true
      }
    }
  }
  return out
}

/**
 * The copies of a rerun of `source` from `from`: every step outside `from` and its descendants
 * that completed in the old run, with its result (a step that never completed has nothing to copy
 * and runs again). Without `from`, nothing is copied. A `from` that is not a step of the flow is
 * refused, naming it and the steps.
 */
export function rerunCopies(flow: FlowGraph, runId: string, source: RunDoc, from: string | undefined): RerunOrigin['copies'] {
  const copies: RerunOrigin['copies'] = {}
  if (from === undefined) return copies
  if (typeof from !== 'string' || !Object.hasOwn(flow.steps, from)) {
    throw new LeanflowError(
      'INVALID_ARGUMENT',
      `Cannot rerun run "${runId}" from step ${JSON.stringify(from)}: flow "${flow.name}" (version ${flow.version ?? 1}) has no such step; pass one of ${Object.keys(flow.steps).join(', ')}.`,
    )
  }
  const fresh = descendants(flow, from)
  for (const name of Object.keys(flow.steps)) {
    const s = source.steps[name]
    if (fresh.has(name) || s?.status !== 'completed') continue
    copies[name] = s.result === undefined ? {} : { result: s.result }
  }
  return copies
}

/** Marks the copied steps of a new run's document `completed` (`copied`), the others waiting; returns the copied step names. */
export function applyCopies(doc: RunDoc, flow: FlowGraph, copies: RerunOrigin['copies']): string[] {
  const copied = Object.keys(copies).filter((name) => doc.steps[name] !== undefined)
  if (copied.length === 0) return copied
  for (const [name, s] of Object.entries(doc.steps)) {
    // own keys only: a step named toString or constructor is not Object.prototype's
    const copy = Object.hasOwn(copies, name) ? copies[name] : undefined
    if (copy === undefined) {
      s.status = 'pending'
      continue
    }
    const done: StepDoc = { status: 'completed', attempt: 1, duration: 0, copied: true, records: [] }
    if (Object.hasOwn(copy, 'result')) done.result = copy.result
    doc.steps[name] = done
  }
  promoteReady(doc, flow)
  return copied
}

/** The `step.completed` (`data.copied`) of a stored run's copied steps, in one wave (none: no wave). */
export function copiedWaves(doc: RunDoc): Append[][] {
  const copied = Object.keys(doc.steps).filter((name) => doc.steps[name]?.copied === true)
  const wave = completions(doc, copied)
  return wave.length > 0 ? [wave] : []
}

/**
 * What a rerun's `begin` job carries out: the outputs its start carries out right after writing
 * the run (its copies' `step.completed`, then its ready steps' jobs; queued by flow control, its
 * `flow.queued` and its `admit` job instead), in case that start died in between. All idempotent (append keys, job ids): a
 * run that started, or ended, gets nothing new; a run that was never written gets nothing.
 */
export function beginOutputs(runId: string, doc: RunDoc | null): Outputs {
  const out: Outputs = { appends: [], jobs: [], unwatch: [] }
  if (doc?.status === 'running') return { ...out, appends: copiedWaves(doc), jobs: readyJobs(runId, doc) }
  if (doc?.status !== 'queued') return out
  const admit = doc.queued?.job
  if (admit !== undefined) out.jobs.push({ op: 'add', name: 'admit', id: admit, data: { runId, step: '', flow: doc.flow } })
  // its first flow.queued, as its start writes it after the copies (keyed: written once; without
  // the start's `until`, which the document does not keep). A later decision logged its own.
  const q = doc.queued
  const first = q?.n === 1 ? [[queuedAppend({ reason: q.reason, key: q.key }, 1)]] : []
  return { ...out, appends: [...copiedWaves(doc), ...first] }
}
