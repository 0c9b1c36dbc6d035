import { type ActiveJob, isLeanflowError, LeanflowError } from '@leanflow/core'
import { admitJob, release } from '../flowControl/admission.js'
import { holdsRunSlots } from '../flowControl/limits.js'
import { takeStepSlot } from '../flowControl/stepSlots.js'
import { type AwaitJobReply, beginOutputs, repairOutputs } from '../machine/index.js'
import { jobIds, type RunnerJobData } from '../machine/keys.js'
import { isEnded, type RunDoc } from '../machine/runDoc.js'
import { apply, carry } from './apply.js'
import { finishCancel } from './cancelFinish.js'
import { type ExecuteOptions, execute } from './execute.js'
import { type Execution, ExecutionGone } from './execution.js'
import { type Fallback, queueFallback } from './fallbackJob.js'
import { leaseFor, newId } from './newId.js'
import { matchWatchers } from './publish.js'
import { quotedNames } from './quotedNames.js'
import { flowFor, type Shell, versionOf } from './shell.js'
import { waitForRun, wroteNothing } from './startWrites.js'
import { foreignJob, foreignJobs } from './storeStamp.js'
import type { TimerAsk } from './timerJobs.js'
import { finishResolve } from './triggers.js'

/**
 * How long after a rerun's start its `begin` job comes, in ms: the start removes it once it has
 * carried out its outputs (a few ms), so it only comes when that start died in between.
 */
export const BEGIN_AFTER_MS = 5_000

/**
 * The queue's jobs, routed to the machine: `step` claims an attempt (`claimStep`), `time` /
 * `timeout` / `resume` settle an await and wake its step (`awaitJob`), each first taking its
 * step's slot when the step has a step-level limit; `admit` asks flow control again for a queued run;
 * `begin` carries out a rerun's or a queued run's start that died after writing the run (or gives
 * back what flow control gave a start whose run was never written); `cancel` finishes a cancel
 * whose caller died after writing it (`finishCancel`); `match` matches the watchers of a published
 * event's kind again, should its publisher have died before it matched them all; `trigger` queues
 * again the resume of a trigger whose resolver died after its write (`finishResolve`); a re-delivered job whose
 * step shows undone outputs repairs them first (`repairOutputs`, then `takeOver`); a new run's
 * first job (queued before its run was written) waits for the write. Throws only on
 * infrastructure errors (the queue then delivers the job again).
 */
export async function handleJob(shell: Shell, job: ActiveJob, opts: ExecuteOptions): Promise<void> {
  const data = job.data as RunnerJobData
  const foreign = foreignJob(shell, job, data)
  if (foreign) throw foreign
  if (job.name === 'admit') return admitJob(shell, data)
  if (job.name === 'begin') return beginJob(shell, data)
  if (job.name === 'cancel') return finishCancel(shell, data.runId)
  if (job.name === 'match') return data.kind === undefined ? undefined : matchWatchers(shell, data.kind)
  if (job.name === 'trigger') return data.trigger === undefined ? undefined : finishResolve(shell, data.runId, data.trigger)
  if (job.name !== 'step' && job.name !== 'time' && job.name !== 'timeout' && job.name !== 'resume') {
    shell.onError(new Error(`Unknown runner job "${job.name}" (id ${job.id}): ignored.`))
    return
  }
  // a first job taken before its run's write landed: this process's own write is waited for (no
  // read); another's is looked for here only for a step with a slot to take (which reads the run
  // once), else by the claim, which reads it anyway
  if (data.first !== undefined && !(await waitForRun(shell, data, { poll: shell.limitedSteps.has(data.step) }))) return
  const slot = await takeStepSlot(shell, job, data)
  if (slot === 'queued') return
  // the handler's input, read (for a run another process started) beside the claim's own first read
  if (job.name !== 'timeout') shell.inputs.prefetch(data.runId)
  // a step slot counts the handler, not the job: a handler that runs on once its execution ended
  // (a cancel, a step timeout: it ignores ctx.signal) keeps the slot until it settles (a
  // suspended one never settles: it waits on an await this execution left)
  let handler: { running: Promise<void>; settled: boolean; ex: Execution } | undefined
  const onHandler = (p: Promise<unknown>, ex: Execution) => {
    const h = { running: p.then(noop, noop), settled: false, ex }
    void h.running.then(() => {
      h.settled = true
    })
    handler = h
    // a slot whose lease ran out (the store out of reach that long) no longer keeps others out: the handler is told to stop
    if (slot) slot.onLost((reason) => ex.abort.abort(reason))
  }
  const run = slot ? { ...opts, onHandler } : opts
  try {
    if (job.name === 'step') await stepJob(shell, job, data, run)
    else await awaitJob(shell, job, data, run)
  } finally {
    const h = handler as typeof handler
    // (a suspended one goes back once its suspend landed: a poll that saw that suspend first, before
    // the write answered, stopped the execution as one that lost its lease)
    if (slot && h && !h.settled && h.ex.gone?.why !== 'suspended')
      void Promise.race([h.running, h.ex.parked])
        .then(() => slot.release())
        .catch(shell.onError)
    else await slot?.release()
  }
}

const noop = () => {}

/**
 * Queues a rerun's `begin` job ({@link BEGIN_AFTER_MS} ahead), before its run `runId` is written;
 * `done()` removes it once the start carried out its outputs (a remove that fails leaves a job
 * that repeats them harmlessly). `beforeWrite` false: queued after a write that got no answer (a
 * refusal is then the queue's error as it is, not "nothing was written").
 *
 * @example
 * ```ts
 * const begun = await queueBegin(shell, runId, 'order')
 * // … createRun, then carry its copies and first jobs …
 * await begun.done()
 * ```
 */
export function queueBegin(shell: Shell, runId: string, flow: string, beforeWrite = true): Promise<Fallback> {
  return queueFallback(
    shell,
    { id: jobIds.begin(runId, newId()), name: 'begin', data: { runId, step: '', flow }, delayMs: BEGIN_AFTER_MS },
    beforeWrite ? `A start of flow "${flow}"` : undefined,
  )
}

/**
 * Rethrows `err` of a flow-controlled start's write that got no answer (`STORE_UNAVAILABLE`: it may
 * still land, so the start keeps what the limits gave it), after queueing the run's `begin` job
 * ({@link BEGIN_AFTER_MS} ahead) when it has none: should the write never land, that job gives
 * back the slot (or place in line) instead of leaving it to a queued run's sweep, seconds later or
 * never. Best effort: a queue that refuses the job too leaves the sweep.
 *
 * @example
 * ```ts
 * const created = await writeRun(shell, runId, early, undefined, write).catch((err) => unanswered(shell, runId, 'order', err))
 * ```
 */
export async function unanswered(shell: Shell, runId: string, flow: string, err: unknown): Promise<never> {
  if (isLeanflowError(err, 'STORE_UNAVAILABLE') && !wroteNothing(err)) await queueBegin(shell, runId, flow, false).catch(shell.onError)
  throw err
}

/**
 * A rerun's `begin` job: the start that queued it died between writing the run and carrying out
 * its outputs (or before writing it: then there is no run, and nothing to do but give back what
 * flow control gave the start). Carries them out from the stored document (`beginOutputs`;
 * idempotent, so a run already going gets nothing new).
 */
async function beginJob(shell: Shell, data: RunnerJobData): Promise<void> {
  const doc = await shell.states.read(data.runId)
  // never written, or ended: its slot or place in line goes back (a no-op when it holds none)
  const flow = data.flow
  if (flow !== undefined && (!doc || isEnded(doc)) && (doc?.limited || holdsRunSlots(shell.controls.get(flow))))
    await release(shell, flow, data.runId)
  // a worker without the run's version writes nothing to its log (its copies name the worker): the job goes back
  if (doc && !isEnded(doc) && !flowFor(shell, doc)) throw handBack(shell, data.runId, doc)
  await carry(shell, data.runId, beginOutputs(data.runId, doc))
}

async function stepJob(shell: Shell, job: ActiveJob, data: RunnerJobData, opts: ExecuteOptions) {
  const { runId, step } = data
  const attempt = data.attempt ?? 1
  const now = attempt > 1 ? await shell.clock.now() : shell.clock.estimate()
  const cmd = { type: 'claimStep', step, attempt, jobId: job.id, lease: leaseFor(job) } as const
  const asked = performance.now()
  let { reply, doc } = await apply(shell, runId, cmd, { now })
  // a first job whose run is not written yet (its start, in another process, is writing it)
  if (!doc && data.first !== undefined && (await waitForRun(shell, data, { poll: true }))) ({ reply, doc } = await apply(shell, runId, cmd))
  if (reply.kind === 'unheld' && doc) throw handBack(shell, runId, doc)
  if (reply.kind === 'repair' && doc) return repairJob(shell, job, doc, opts)
  if (reply.kind === 'claimed' && doc) await execute(shell, job, doc, step, reply.lease, opts, reply.takeover, asked)
}

/** The errors {@link handBack} threw: reported to `onError` once per version already, never again by the queue. */
const handedBack = new WeakSet<object>()

/**
 * The default queue's `onError`: a job's failure (the job is delivered again) goes to the runner's
 * `onError`; a hand-back is no failure: `stop()`'s (an `ExecutionGone`) are silent, and a missing
 * version's was reported once per version by {@link handBack} already.
 */
export function failuresTo(onError: (err: unknown) => void): (err: unknown) => void {
  return (err) => {
    if (err instanceof ExecutionGone || (typeof err === 'object' && err !== null && (handedBack.has(err) || foreignJobs.has(err)))) return
    onError(err)
  }
}

/**
 * A job of a run pinned to a flow version this worker does not hold: nothing was changed or
 * appended; the error thrown hands the job back to the queue (delivered again after the
 * queue's backoff, to any worker). Reported to `onError` once per flow version and process.
 */
function handBack(shell: Shell, runId: string, doc: RunDoc): LeanflowError {
  const version = doc.version ?? 1
  const versions = shell.versions.get(doc.flow)
  const same = versions?.get(version)
  const held = [...(versions?.values() ?? [])].map(versionOf).sort((a, b) => a - b)
  const err = new LeanflowError(
    'FLOW_NOT_FOUND',
    same
      ? `Run "${runId}" of flow "${doc.flow}" version ${version} has steps ${quotedNames(Object.keys(doc.steps))}; this worker's version ${version} has ${quotedNames(Object.keys(same.steps))}: it never runs a run with other steps, so its job goes back to the queue for a worker with the code it started on. Give changed steps a new version, defineFlow({ name: "${doc.flow}", version: ${Math.max(...held) + 1}, … }), and keep the old code as version ${version} until its runs drain.`
      : `Run "${runId}" is pinned to version ${version} of flow "${doc.flow}", which this worker does not hold (it holds ${held.length > 0 ? `version ${held.join(', ')}` : 'no version of it'}): its job goes back to the queue for a worker that does. Keep a worker with version ${version} deployed until its runs drain.`,
  )
  handedBack.add(err)
  const key = `${doc.flow}@${version}${same ? ' steps' : ''}`
  if (!shell.unheld.has(key)) {
    shell.unheld.add(key)
    shell.onError(err)
  }
  return err
}

async function awaitJob(shell: Shell, job: ActiveJob, data: RunnerJobData, opts: ExecuteOptions) {
  const { runId, step } = data
  const asked = performance.now()
  if (job.name === 'time' || job.name === 'timeout') {
    // with the other timers of the run due meanwhile: one write decides them all
    const ask: TimerAsk = { job: job.name, step, pos: data.pos ?? 0, jobId: job.id, lease: leaseFor(job) }
    await shell.timers.add(runId, ask)
    return afterAwaitJob(shell, job, runId, step, ask.reply, ask.doc ?? null, opts, asked)
  }
  const cmd = { type: 'awaitJob', job: 'resume', step, pos: data.pos ?? 0, jobId: job.id, lease: leaseFor(job) } as const
  const { reply, doc } = await apply(shell, runId, cmd, { now: shell.clock.estimate() })
  return afterAwaitJob(shell, job, runId, step, reply, doc, opts, asked)
}

/** What an await job does once its command is stored: hands the job back, repairs, or runs the step it claimed. */
async function afterAwaitJob(
  shell: Shell,
  job: ActiveJob,
  runId: string,
  step: string,
  reply: AwaitJobReply | undefined,
  doc: RunDoc | null,
  opts: ExecuteOptions,
  asked: number,
): Promise<void> {
  if (reply?.kind === 'unheld' && doc) throw handBack(shell, runId, doc)
  if (reply?.kind === 'repair' && doc) return repairJob(shell, job, doc, opts)
  if (reply?.kind === 'claimed' && doc) await execute(shell, job, doc, step, reply.lease, opts, reply.takeover, asked)
}

/**
 * A re-delivered job (its worker crashed or handed it back): carries out again the outputs of
 * every step it owns, then takes over the step it was running.
 */
async function repairJob(shell: Shell, job: ActiveJob, doc: RunDoc, opts: ExecuteOptions) {
  const runId = (job.data as RunnerJobData).runId
  const now = await shell.clock.now()
  const flow = flowFor(shell, doc)
  const { outputs, running } = repairOutputs(doc, job.id, { runId, now, flow })
  for (const out of outputs) await carry(shell, runId, out)
  if (running === undefined) return
  const asked = performance.now()
  const { reply: lease, doc: d } = await apply(shell, runId, { type: 'takeOver', step: running, jobId: job.id, lease: leaseFor(job) })
  if (lease === undefined || !d) return
  await execute(shell, job, d, running, lease, opts, true, asked)
}
