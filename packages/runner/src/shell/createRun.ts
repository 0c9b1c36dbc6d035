// A new run's write: its state and `flow.started` at once, its first jobs queued before or after
// it (or, queued by flow control, its `flow.queued` and `admit` job). Called by the runner's starts.
import { type EventMeta, LeanflowError } from '@leanflow/core'
import { firstAdmitJob } from '../flowControl/admission.js'
import { holdsRunSlots } from '../flowControl/limits.js'
import { copiedWaves, newRun, queueNew, type RunOrigin, startJobs, type Waiting } from '../machine/index.js'
import { jobIds } from '../machine/keys.js'
import type { FlowGraph, RunDoc } from '../machine/runDoc.js'
import { carry } from './apply.js'
import { queueBegin, unanswered } from './jobs.js'
import { type RunBasis, readBasis } from './runBasis.js'
import { fencesOf } from './runStates.js'
import type { Shell } from './shell.js'
import { beforeWrite, firstJobs, writeRun } from './startWrites.js'

/**
 * Writes a new run (its state and `flow.started` in one atomic write: a refused start leaves
 * neither) and queues its first jobs — or, queued by flow control, logs `flow.queued` and queues
 * its `admit` job. A run that exists already is returned as it is. `basis`: the clock and
 * position asked already (by a start that asked them together with its limits). `repeat`: the
 * run may exist already (its first jobs are then queued only if it does not). `since`: when a
 * child's await was recorded (an earlier start of it may have queued its jobs since: `writeRun`).
 * `inProcess`: the queue is the memory queue (it dies with this process, jobs and all).
 *
 * @example
 * ```ts
 * const doc = await createRun(shell, false, flow, runId, input, { trigger: 'api' })
 * ```
 */
export async function createRun(
  shell: Shell,
  inProcess: boolean,
  flow: FlowGraph,
  runId: string,
  data: unknown,
  origin: RunOrigin,
  control?: { waiting: Waiting | undefined; at: number | undefined; priority: number },
  meta?: EventMeta,
  basis?: Promise<RunBasis>,
  repeat = false,
  since?: number,
): Promise<RunDoc> {
  const name = flow.name
  const [now, pos] = await (basis ?? readBasis(shell)).catch(beforeWrite)
  const { doc: fresh, first, key } = newRun(flow, runId, data, now, pos, origin)
  // a rerun's or a queued run's begin job: carries out what this start carries out below (copies,
  // flow.queued, jobs) if this process dies first
  const begun = origin.rerun || (control?.waiting && !inProcess) ? await queueBegin(shell, runId, name).catch(beforeWrite) : undefined
  const queued = control?.waiting ? queueNew(fresh, control.waiting) : undefined
  const admitAt = control?.at ?? now
  const admitJob = jobIds.admit(runId, Math.round(admitAt))
  if (queued && fresh.queued) fresh.queued.job = admitJob
  if (queued && control?.priority) fresh.priority = control.priority
  // its end gives back what admission gave it, even under a later definition without limits
  if (control && holdsRunSlots(shell.controls.get(name))) fresh.limited = true
  // any other start queues its first jobs before it writes the run: a start that dies after the
  // write leaves them queued, one that dies before leaves jobs that find no run and end, and a
  // queue that refuses them refuses the start (nothing written). Not on the memory queue: it
  // dies with this process, jobs and all, and never refuses one. A repeat of a written run
  // queues the jobs of its document after the write, as before (a copy of its first jobs would
  // repair what their first delivery did)
  const queueFirst = !begun && !inProcess && !(repeat && (await shell.states.read(runId)))
  const early = queueFirst ? firstJobs(shell, startJobs(runId, fresh)) : []
  // on the memory queue, queued only after a write that got no answer (it may still land)
  const unansweredJobs = inProcess && !begun && !control?.waiting ? startJobs(runId, fresh) : []
  const created = await writeRun(
    shell,
    runId,
    early,
    since,
    async () => {
      const res = await shell.store.createRun(runId, fresh, meta ? { ...first, meta } : first, {
        idempotencyKey: key,
        fences: fencesOf(fresh),
      })
      if (res.created) shell.states.noteStored(runId, res.version, fresh)
      if (res.created && res.record) shell.observers.appended(res.record)
      const doc = res.created ? fresh : res.current?.doc
      if (!doc || !res.record) {
        throw new LeanflowError(
          'INVALID_ARGUMENT',
          `Run id "${runId}" is taken by a run that has ${doc ? 'no flow.started event' : 'no state'} (written by an older leanflow or by hand): choose another run id.`,
        )
      }
      // the stored flow.started (the first one when the run existed): its input, without a read
      shell.inputs.note(runId, structuredClone((res.record.data as { input?: unknown } | null)?.input ?? null))
      return { doc, created: res.created }
    },
    unansweredJobs,
  ).catch((err: unknown) => (control && !begun ? unanswered(shell, runId, name, err) : Promise.reject(err)))
  const doc = created.doc
  if (doc.flow !== name) throw runIdTaken(runId, doc.flow)
  // a rerun's copied steps: their step.completed (data.copied) right after flow.started (again
  // on a repeat: the start that wrote the run may have died before writing them)
  const copies = copiedWaves(doc)
  // a new run that queued its first jobs has nothing left to carry out
  if (created.created && early.length > 0) return doc
  try {
    if (doc.status === 'queued' && queued && control?.waiting) {
      const job = firstAdmitJob(admitJob, runId, name, control.waiting.reason, admitAt)
      await carry(shell, runId, { appends: [...copies, [queued]], jobs: [job], unwatch: [] })
    } else await carry(shell, runId, { appends: copies, jobs: startJobs(runId, doc), unwatch: [] })
  } catch (err) {
    // the run is written and its begin job carries this out instead (a queue that refuses now)
    if (!begun) throw err
    shell.onError(err)
    return doc
  }
  await begun?.done()
  return doc
}

/** A run id that names a run of another flow: refused, naming that flow. */
export const runIdTaken = (runId: string, flow: string) =>
  new LeanflowError('INVALID_ARGUMENT', `Run id "${runId}" already belongs to flow "${flow}": choose another run id.`)
