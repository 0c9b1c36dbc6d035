import type { Append, Command, JobOut, Transition } from './commands.js'
import { jobIds, keys } from './keys.js'
import { type Env, readyJobs, terminalWaves } from './outputs.js'
import { closeAwaits, type FlowGraph, isEnded, newRunDoc, type RunDoc } from './runDoc.js'

/** A run's start and its cancel: the commands about the run as a whole. */

type Cancel = Extract<Command, { type: 'cancel' }>

/**
 * A new run of `flow` with `input` (`schedule`: started by that schedule's tick): its document (steps without needs `ready`), its
 * `flow.started` event (written with it in one step by `createRun`), and its first jobs.
 */
export function newRun(
  flow: FlowGraph,
  runId: string,
  input: unknown,
  now: number,
  pos: number,
  schedule?: { id: string; tick: string },
): { doc: RunDoc; first: Omit<Append, 'key'> & { flow: string }; key: string } {
  const steps: Record<string, { needs: string[] }> = {}
  for (const [s, def] of Object.entries(flow.steps)) steps[s] = { needs: [...(def.needs ?? [])] }
  const doc = newRunDoc(flow, now, pos)
  const data = schedule ? { name: flow.name, input, steps, schedule } : { name: flow.name, input, steps }
  return { doc, first: { kind: 'flow.started', flow: runId, data }, key: keys.flowStarted }
}

/** The jobs of a stored run: one per `ready` step, one per `retrying` step (due at its retry). */
export function startJobs(runId: string, doc: RunDoc): JobOut[] {
  return doc.status === 'running' ? readyJobs(runId, doc) : []
}

/**
 * `cancel`: a running run is `canceled` (its pending awaits canceled, its leases dropped), then
 * `flow.canceled` is appended and its queued jobs removed. An ended run changes nothing.
 */
export function cancel(doc: RunDoc | null, cmd: Cancel, env: Env): Transition<'missing' | 'ended' | 'canceled'> {
  if (!doc) return { reply: 'missing', appends: [], jobs: [], unwatch: [] }
  if (isEnded(doc)) return { reply: 'ended', appends: [], jobs: [], unwatch: [], ended: true, release: doc.flow }
  doc.status = 'canceled'
  delete doc.queued
  doc.endedAt = env.now
  if (cmd.reason !== undefined) doc.reason = String(cmd.reason)
  const jobs: JobOut[] = []
  const unwatch = new Set<string>()
  for (const [name, s] of Object.entries(doc.steps)) {
    closeAwaits(s, 'canceled', env.now)
    delete s.lease
    jobs.push({ op: 'remove', id: jobIds.step(env.runId, name, s.attempt) })
    s.records.forEach((r, pos) => {
      if (r.t === 'do') return
      jobs.push({ op: 'remove', id: jobIds.time(env.runId, name, r.attempt, pos) })
      jobs.push({ op: 'remove', id: jobIds.timeout(env.runId, name, r.attempt, pos) })
      if (r.t === 'event') unwatch.add(r.kind)
    })
  }
  const data = cmd.reason === undefined ? {} : { reason: String(cmd.reason) }
  return {
    reply: 'canceled',
    appends: terminalWaves(doc, 'flow.canceled', data),
    jobs,
    unwatch: [...unwatch],
    ended: true,
    release: doc.flow,
  }
}
