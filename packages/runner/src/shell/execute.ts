import { type ActiveJob, parseDuration } from '@leanflow/core'
import { errorMessage } from '../machine/errorMessage.js'
import type { RunnerJobData } from '../machine/keys.js'
import { ancestors, type RunDoc } from '../machine/runDoc.js'
import { isRetriable, normalizeRetry, retryDelay } from '../retryPolicy.js'
import { apply } from './apply.js'
import { createContext, flushAndFence } from './context.js'
import { Execution, ExecutionGone } from './execution.js'
import { jobLock } from './heldLock.js'
import { longTimeout } from './longTimer.js'
import { leaseFor } from './newId.js'
import { flowOf, type Shell } from './shell.js'
import { assertStorableResult, eventLimit, isUnstorable, storableError } from './storable.js'

/** Options of an execution. */
export interface ExecuteOptions {
  cancelPollMs: number
  /** Told the handler's promise once it runs, and its execution (a step slot is held until it settles, also past the execution's end). */
  onHandler?: ((running: Promise<unknown>, ex: Execution) => void) | undefined
}

/**
 * Runs the handler of a step claimed under `lease`, then completes or fails it (`complete` /
 * `fail` commands); a suspended, fenced or canceled execution is dropped, a handed-back one
 * rethrows (its job is delivered again).
 */
export async function execute(
  shell: Shell,
  job: ActiveJob,
  doc: RunDoc,
  step: string,
  lease: string,
  opts: ExecuteOptions,
  takeover = false,
  askedAt = performance.now(),
): Promise<void> {
  const flow = flowOf(shell, doc)
  const def = flow.steps[step]
  const s = doc.steps[step]
  if (!def || !s) return
  const results: Record<string, unknown> = {}
  for (const a of ancestors(flow, step)) results[a] = doc.steps[a]?.result
  const runId = (job.data as RunnerJobData).runId
  // a debounced run runs with its last call's input
  const input = doc.input !== undefined ? structuredClone(doc.input) : await shell.inputs.get(runId)
  const ex = new Execution(runId, step, s.attempt, lease, job.id, flow, input, s.records, results)
  ex.takeover = takeover
  // the claim was sent then: the lease was this execution's from some moment after it
  ex.confirmedAt = askedAt
  ex.lockMs = job.lockMs
  ex.jobLock = jobLock(job)
  shell.local.add(ex)
  const timers: Array<ReturnType<typeof setInterval>> = []
  let timeoutErr: Error | undefined
  let cancelTimeout: (() => void) | undefined
  if (def.timeout !== undefined) {
    const ms = parseDuration(def.timeout)
    cancelTimeout = longTimeout(() => {
      timeoutErr = new Error(`Step "${step}" ran longer than its timeout of ${ms} ms.`)
      ex.stop('timeout')
    }, ms)
  }
  timers.push(
    setInterval(
      () => {
        const sent = performance.now()
        shell.states
          .read(ex.runId)
          .then((d) => {
            // a document without steps (edited by hand) holds no lease of this execution's
            const lost = ex.lost(d)
            if (lost) ex.stop(lost)
            else ex.confirmed(sent)
          })
          .catch(shell.onError)
      },
      // under a queue lock, at least five times a lock: an answer within half a lock of the last one keeps the lease known (Execution.confirmed)
      pollMs(opts.cancelPollMs, job.lockMs),
    ),
  )
  let outcome: { ok: true; value: unknown } | { ok: false; err: unknown }
  try {
    const ctx = createContext(shell, ex)
    const running = Promise.resolve().then(() => def.handler(input, ctx))
    opts.onHandler?.(running, ex)
    outcome = await Promise.race([
      // settled at once (a microtask), before the gate's next decision (setImmediate): awaits that
      // finish registering after the handler returned never suspend the step
      // (these run also when the execution ended first: a suspended one's handler that settles is reported)
      running.then(
        (value) => {
          ex.settled = true
          wentOnAfterSuspend(shell, ex, 'returned')
          return { ok: true as const, value }
        },
        (err: unknown) => {
          ex.settled = true
          wentOnAfterSuspend(shell, ex, 'threw')
          return { ok: false as const, err }
        },
      ),
      ex.stopped.then((gone) => ({ ok: false as const, err: gone })),
    ])
    // ctx calls the handler did not await (a state.set, an emit) end before the step does: the
    // step's end would fence out what is left of them (a state.set in the run's state, not in its log)
    // (not past the execution's end: a timeout, a cancel, a lost lease stop the wait)
    if (!(!outcome.ok && outcome.err instanceof ExecutionGone)) await Promise.race([ex.gate.idle(), ex.stopped])
    if (outcome.ok) {
      // awaits the handler made but never waited on through a suspend (settled at once) are written too
      await ex.writeDeferred()
      await flushAndFence(shell, ex)
    }
  } catch (err) {
    outcome = { ok: false, err }
  } finally {
    for (const t of timers) clearTimeout(t)
    cancelTimeout?.()
    // the job ends only once the execution's store calls did (a suspend dropped mid-way: see `quiet`)
    if (ex.busy) await ex.quiet()
    shell.local.delete(ex)
  }
  if (timeoutErr) outcome = { ok: false, err: timeoutErr }
  else if (ex.gone || (!outcome.ok && outcome.err instanceof ExecutionGone)) {
    // dropped: suspended, fenced or ended; handed back goes back to the queue
    const gone = ex.gone ?? (outcome as { err: ExecutionGone }).err
    // an event the store refuses for its size is refused again on every delivery: the attempt fails
    if (gone.why === 'handback' && isUnstorable(gone.cause)) return fail(shell, ex, gone.cause)
    if (gone.why === 'handback') throw gone.cause ?? gone
    // a write of its own that failed once it was dropped (its suspend's outputs): the job goes back, and its re-delivery repairs them
    if (ex.unfinished !== undefined) throw ex.unfinished
    return
  }
  if (outcome.ok) {
    let json: string | undefined
    try {
      json = assertStorableResult(shell, ex, job.id, outcome.value)
    } catch (err) {
      return fail(shell, ex, err)
    }
    await complete(shell, job, ex, outcome.value, json, opts)
  } else await fail(shell, ex, outcome.err)
}

/**
 * Completes the step; the machine claims the first step it made ready for this job (inline
 * continuation: the chain goes on here, with no queue round trip), whose handler runs next.
 */
async function complete(shell: Shell, job: ActiveJob, ex: Execution, result: unknown, json: string | undefined, opts: ExecuteOptions) {
  // no inline continuation into a step that would need a step-level slot first
  const limited = Object.keys(shell.controls.get(ex.flow.name)?.steps ?? {}).length > 0
  const next = shell.stopping || limited ? undefined : { jobId: job.id, lease: leaseFor(job) }
  const asked = performance.now()
  const { reply, doc } = await apply(shell, ex.runId, {
    type: 'complete',
    step: ex.step,
    lease: ex.lease,
    result,
    json,
    next,
    maxEventBytes: eventLimit(shell),
  })
  if (reply?.next === undefined || reply.lease === undefined || !doc) return
  await execute(shell, job, doc, reply.next, reply.lease, opts, false, asked)
}

/** Fails the attempt: retried after the policy's delay while attempts remain and the error is retriable, else for good. */
async function fail(shell: Shell, ex: Execution, err: unknown) {
  // cut to a size every event holds: a failure that cannot be stored would never end the attempt
  const error = storableError(errorMessage(err))
  const policy = normalizeRetry(ex.flow.steps[ex.step]?.retry)
  // a ctx.do effect that ran without its result recorded would run again in a retry
  const retry = isRetriable(err) && ex.unrecordedEffect === undefined && ex.attempt < policy.attempts
  const retryDelayMs = retry ? retryDelay(policy, ex.attempt + 1, err) : undefined
  const now = await shell.clock.now()
  await apply(shell, ex.runId, { type: 'fail', step: ex.step, lease: ex.lease, attempt: ex.attempt, error, retryDelayMs }, { now })
}

/**
 * A suspended step's handler never settles (it waits on the awaits the step suspended on); one
 * that does went on outside ctx calls while an await was pending (a race's loser): its outcome is
 * dropped, and the step runs again once one of those awaits settles. Said through `onError`.
 */
function wentOnAfterSuspend(shell: Shell, ex: Execution, how: 'returned' | 'threw'): void {
  if (ex.gone?.why !== 'suspended') return
  const positions = ex.gate.pendingPositions()
  shell.onError(
    new Error(
      `Step "${ex.step}" of run "${ex.runId}" went on after it suspended on its pending awaits (position ${positions.join(', ')}): its handler ${how}, and that was dropped; the step runs again from the top once one of those awaits settles. A promise that is not a ctx call (a fetch, a sleep after a Promise.race) does not keep a step running while an await is pending: do that work inside ctx.do.`,
    ),
  )
}

/** How often a running step reads its run: `cancelPollMs`, or a fifth of the queue's lock when that is shorter (50 ms at least). */
function pollMs(cancelPollMs: number, lockMs: number | undefined): number {
  return lockMs === undefined ? cancelPollMs : Math.max(50, Math.min(cancelPollMs, Math.floor(lockMs / 5)))
}
