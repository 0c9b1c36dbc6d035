import { type ActiveJob, LeanflowError, type LimitAnswer, type LimitNeed } from '@leanflow/core'
import { runsHandler } from '../machine/index.js'
import type { RunnerJobData } from '../machine/keys.js'
import { isEnded, type RunDoc } from '../machine/runDoc.js'
import { apply } from '../shell/apply.js'
import { newId } from '../shell/newId.js'
import type { Shell } from '../shell/shell.js'
import { stepNeedOf } from './control.js'
import { requireLimits } from './limits.js'

/**
 * Step-level concurrency: a job that would run a limited step's handler (its first attempt, a
 * retry, a resume after an await) first takes a slot in the store, leased and renewed while the
 * handler runs, so a dead worker's slot frees itself within a lease. Without a free slot the job
 * logs `step.queued` and ends; the execution that frees a slot wakes it (its job is queued again),
 * and a backstop job asks again in case that wake was lost.
 */

/** A backstop job of a waiting step asks again at most this long after it queued. */
const STEP_BACKSTOP_MS = 10_000

/** A slot held by an execution: renewed until released. */
export class StepSlot {
  private readonly timer: ReturnType<typeof setInterval>
  private lostFn: ((reason: LeanflowError) => void) | undefined
  private lost: LeanflowError | undefined

  constructor(
    private readonly shell: Shell,
    readonly scope: string,
    readonly holder: string,
  ) {
    const leaseMs = shell.slotLeaseMs
    this.timer = setInterval(
      () => {
        requireLimits(shell.limits, scope)
          .renewLimit(scope, holder, leaseMs)
          .then((held) => {
            if (!held) this.expired(leaseMs)
          }, shell.onError)
      },
      Math.max(10, Math.floor(leaseMs / 3)),
    )
    this.timer.unref?.()
  }

  /** Calls `fn` (once) should the slot's lease run out while it is held (at once when it has). */
  onLost(fn: (reason: LeanflowError) => void): void {
    this.lostFn = fn
    if (this.lost) fn(this.lost)
  }

  /**
   * The lease ran out before a renewal reached the store (unreachable, or this process too busy
   * that long): the store counts the slot free, and may admit another execution beside this one.
   * Said once, and the execution's `ctx.signal` aborts (`onLost`); no more renewals.
   */
  private expired(leaseMs: number): void {
    if (this.lost) return
    clearInterval(this.timer)
    this.lost = new LeanflowError(
      'STORE_UNAVAILABLE',
      `The step slot "${this.holder}" of "${this.scope}" ran out while its handler ran: no renewal reached the store within slotLeaseMs (${leaseMs} ms), so the limit may admit another execution beside this one. Its ctx.signal aborts: stop work when it does (the attempt fails and is retried with a slot). Raise slotLeaseMs above the store outages the limit must ride out.`,
    )
    this.shell.onError(this.lost)
    this.lostFn?.(this.lost)
  }

  /** Gives the slot back and wakes the steps that now fit. */
  async release(): Promise<void> {
    clearInterval(this.timer)
    await giveBack(this.shell, this.scope, this.holder)
  }
}

/** Gives back the slot (or place in line) of `holder` in `scope`, and wakes the steps that now fit. */
async function giveBack(shell: Shell, scope: string, holder: string): Promise<void> {
  const { admitted } = await requireLimits(shell.limits, scope).releaseLimit(scope, holder)
  await wakeSteps(shell, scope, admitted)
}

/**
 * Takes the slot of the step a job would run: the slot, `queued` (the job logged `step.queued`
 * and is done), or undefined when the step has no limit (or the run cannot run it: the job's
 * usual path says so).
 */
export async function takeStepSlot(shell: Shell, job: ActiveJob, data: RunnerJobData): Promise<StepSlot | 'queued' | undefined> {
  const { runId, step } = data
  // no read for the jobs of steps no flow limits
  if (!shell.limitedSteps.has(step)) return undefined
  const doc = await shell.states.read(runId)
  const fc = doc ? shell.controls.get(doc.flow) : undefined
  const s = doc?.steps[step]
  if (!doc || !fc?.steps[step] || !s || isEnded(doc) || doc.status === 'queued') return undefined
  const runs = (d: RunDoc) => runsHandler(d, { id: job.id, name: job.name, data }, shell.clock.estimate())
  // a job that would not run the handler (it repairs, or its step moved on: it was delivered again)
  // goes its usual way without a slot, a woken one giving back the slot it was given (a backstop
  // first ends its wait, below)
  if (!data.backstop && !runs(doc)) {
    if (data.slot !== undefined) await giveBack(shell, `${doc.flow}/${step}`, `${runId}~${step}.${data.slot}`)
    return undefined
  }
  let need: LimitNeed | undefined
  try {
    need = stepNeedOf(doc.flow, fc, step, doc.input ?? (await shell.inputs.get(runId)))
  } catch (err) {
    shell.onError(err)
  }
  if (!need) need = { id: 'concurrency', kind: 'concurrency', key: '', limit: fc.steps[step].limit }
  // each job its own slot (a duplicate job's slot is never another's); a woken job goes on with the token it waited with
  const slot = data.slot ?? newId()
  const scope = `${doc.flow}/${step}`
  const holder = `${runId}~${step}.${slot}`
  // of a backstop and a wake, one ends the wait and goes on
  if (data.backstop) {
    const { reply, doc: d } = await apply(shell, runId, { type: 'unwait', step, slot, jobId: job.id })
    if (!reply && d?.steps[step]?.woken?.slot === slot) {
      await wokenAgain(shell, d, step, slot)
      return 'queued'
    }
    // its wait ended otherwise: by this very job, delivered again after its worker died past that
    // write, or replaced by another job's wait: it asks again while its job would run the handler
    if (!reply && (!d || !runs(d))) {
      await giveBack(shell, scope, holder)
      return 'queued'
    }
  }
  const limits = requireLimits(shell.limits, doc.flow)
  const req = { holder, needs: [need], leaseMs: shell.slotLeaseMs }
  const ans = await limits.acquireLimit(scope, req)
  await wakeSteps(shell, scope, others(ans, holder))
  if (ans.state === 'admitted') return new StepSlot(shell, scope, holder)
  const name = job.name as 'step'
  await apply(shell, runId, { type: 'queueStep', step, attempt: s.attempt, key: need.key, job: name, pos: data.pos, slot, jobId: job.id })
  // a slot freed between the two found no waiting job to wake: ask once more
  const again = await limits.acquireLimit(scope, req)
  await wakeSteps(shell, scope, others(again, holder))
  if (again.state === 'admitted') {
    // admitted: go on, unless a wake ended the wait first (its job goes on with this slot)
    return (await apply(shell, runId, { type: 'unwait', step, slot, jobId: job.id })).reply ? new StepSlot(shell, scope, holder) : 'queued'
  }
  const retryAt = again.state === 'queued' ? again.blocked?.retryAt : undefined
  const now = shell.clock.estimate()
  const at = Math.min(retryAt ?? Number.POSITIVE_INFINITY, now + STEP_BACKSTOP_MS)
  const base = job.id
    .split('~')
    .slice(0, job.name === 'step' ? 4 : 5)
    .join('~')
  const backstop: RunnerJobData = { ...data, slot, backstop: true }
  await shell.queue.enqueue({ id: `${base}~b${Math.round(at)}`, name: job.name, data: backstop, delayMs: Math.max(0, Math.ceil(at - now)) })
  return 'queued'
}

/**
 * A backstop found its wait ended by a wake: the wake's job is queued again while the step has not
 * gone on (the process that woke it may have died between its write and the queue; the queue
 * keeps one job per id, so a job still queued or running is not doubled, and one that ran and
 * found the step taken gives the slot back).
 */
async function wokenAgain(shell: Shell, doc: RunDoc | null, step: string, slot: string): Promise<void> {
  const s = doc?.steps[step]
  const w = s?.woken
  if (doc?.status !== 'running' || !s || w?.slot !== slot || s.wait !== undefined) return
  // gone on: claimed (running) or past this attempt
  if (s.status === 'running' || s.status === 'completed' || s.status === 'failed') return
  if (w.data.attempt !== undefined && w.data.attempt !== s.attempt) return
  await shell.queue.enqueue({ id: w.id, name: w.name, data: w.data })
}

/**
 * Wakes the steps the limits gave a slot to (holders `<runId>~<step>.<slot>`). A slot whose wait
 * its own job ended stays with that job; one whose step waits with another token, or whose run
 * ended, is given back. (A claim leaves a wait as it is: its wake then runs a job that finds the
 * step taken and gives the slot back.)
 */
export async function wakeSteps(shell: Shell, scope: string, holders: readonly string[]): Promise<void> {
  await Promise.all(
    holders.map(async (holder) => {
      const at = holder.indexOf('~')
      const dot = holder.lastIndexOf('.')
      const [runId, step, slot] = [holder.slice(0, at), holder.slice(at + 1, dot), holder.slice(dot + 1)]
      const { reply, doc } = await apply(shell, runId, { type: 'wake', step, slot })
      if (reply) return
      // the wait ended by its own job (a backstop, or the waiting job asking again): that job goes on with this slot
      const s = doc?.steps[step]
      if (doc && !isEnded(doc) && s && s.wait === undefined) return
      const { admitted } = await requireLimits(shell.limits, scope).releaseLimit(scope, holder)
      await wakeSteps(shell, scope, admitted)
    }),
  )
}

/**
 * The steps of an ended run that waited for a step-level slot leave their lines (a canceled run's
 * step waits for nothing, and `limits()` stops counting it), and the steps that now fit are woken.
 */
export async function leaveStepLines(
  shell: Shell,
  flow: string,
  runId: string,
  waits: ReadonlyArray<{ step: string; slot: string }>,
): Promise<void> {
  const limits = requireLimits(shell.limits, flow)
  await Promise.all(
    waits.map(async ({ step, slot }) => {
      const scope = `${flow}/${step}`
      const { admitted } = await limits.releaseLimit(scope, `${runId}~${step}.${slot}`)
      await wakeSteps(shell, scope, admitted)
    }),
  )
}

function others(ans: LimitAnswer, self: string): string[] {
  return ans.state === 'admitted' || ans.state === 'queued' ? ans.admitted.filter((h) => h !== self) : []
}
