import { isLeanflowError, isRepeatedAppend, type LimitAnswer, type LimitBlock, type LimitTurn, RateLimitedError } from '@leanflow/core'
import type { Waiting } from '../machine/index.js'
import { jobIds, type RunnerJobData } from '../machine/keys.js'
import { readyJobs } from '../machine/outputs.js'
import { isEnded, type RunDoc } from '../machine/runDoc.js'
import { apply, carry } from '../shell/apply.js'
import { newId } from '../shell/newId.js'
import type { Shell } from '../shell/shell.js'
import { wroteNothing } from '../shell/startWrites.js'
import { assertFits } from '../shell/storable.js'
import { runLimitsOf } from './control.js'
import { holdsRunSlots, requireLimits } from './limits.js'
import { logSettledInput } from './settledInput.js'

/**
 * Flow control of runs: a start asks the store's limits (admitted, queued, refused, folded into a
 * debounce window or deduplicated by a singleton), a queued run is admitted when a slot frees (the
 * releaser hands it off) or when its `admit` job asks again (a rate window freed, a debounce came
 * due, or a hand-off was lost to a crash), and a run that ends gives its slots back.
 */

/** How long a queued run waits before asking again, by how many times it asked (a lost hand-off, a leaked slot). */
const BACKSTOP_MS = [2_000, 5_000, 15_000, 30_000, 60_000] as const
/** A hand-off that found no run (its start is still writing it, or crashed) looks again after this long. */
const MISSING_GRACE_MS = 1_000
/** How long a singleton start waits for the run that holds its key (it supersedes, or skips to) to be written by the start that took the key. */
const SUPERSEDE_GRACE_MS = 2_000
/**
 * How much earlier than its rate window frees the `admit` job of a rate-limited run is queued; the
 * job then waits in the worker until the window frees, so that a delayed job that comes late (a
 * queue's timer, Redis's blocking timeouts, which fire on its `hz` ticks) does not make the run late.
 */
export const RATE_WAKE_LEAD_MS = 50

/** The most bytes of a `flow.debounced` event besides its input (kind, a run id of 128 characters, `until`). */
const DEBOUNCED_ENVELOPE_BYTES = 256

/** What `startFlow` returns. */
export interface Started {
  runId: string
  deduplicated?: true
}

/** Writes the run: `waiting` undefined → running at once; else queued for that reason. */
export type CreateRun = (runId: string, waiting: Waiting | undefined, admitAt: number | undefined) => Promise<RunDoc>

/** What a controlled start does besides asking the limits. */
export interface StartHooks {
  create: CreateRun
  cancel: (runId: string, reason: string) => Promise<void>
  /** Maps the start's idempotency key to the run (the first run of the key wins: its id comes back). */
  claim: (runId: string) => Promise<string>
  /**
   * The answer to a start a singleton skipped to the active run `holder`, or a debounce window
   * folded into it: the start's idempotency key (if any) now names that run, so a retry answers
   * it again after it ended.
   */
  dedupTo: (holder: string) => Promise<Started>
  /** The idempotency key of the `flow.debounced` of a call with an idempotency key (a repeat stores none). */
  foldKey?: string | undefined
  /**
   * Asks now what `create` reads before it writes (the store's clock and position), so that it
   * goes out with the limits' call instead of one round trip after it. Reads only: a start the
   * limits refuse or fold wrote nothing.
   */
  prepare?: () => void
}

/**
 * The answer to a start whose idempotency key (`lookup`) maps to run `runId`: the run itself when
 * the key started it, else `deduplicated: true` (a singleton skipped the key's first start to that
 * run, or a debounce window folded it in), as the first answer was.
 */
export function keyAnswer(runId: string, doc: RunDoc | null, lookup: string): Started {
  return doc?.startKey === lookup ? { runId } : { runId, deduplicated: true }
}

/**
 * The start of a run of a flow with flow control: every key computed first (a throw or a bad name
 * rejects, nothing written), then one decision of the store, then the run written as it says.
 */
export async function startLimited(
  shell: Shell,
  flow: string,
  runId: string,
  input: unknown,
  priority: number,
  hooks: StartHooks,
): Promise<Started> {
  const { create, cancel } = hooks
  const fc = shell.controls.get(flow)
  if (!fc) throw new Error(`Flow "${flow}" has no flow control.`)
  const lim = runLimitsOf(flow, fc, input)
  const limits = requireLimits(shell.limits, flow)
  if (lim.debounce) {
    const d = lim.debounce
    // a call folded into the window is its flow.debounced: one the store would refuse is refused
    // before the window takes its input (the run would run with a call its caller saw fail)
    assertFits(shell, input, `input of flow "${flow}" (in its flow.debounced)`, DEBOUNCED_ENVELOPE_BYTES)
    const opts = d.maxWaitMs === undefined ? { periodMs: d.periodMs, input } : { periodMs: d.periodMs, maxWaitMs: d.maxWaitMs, input }
    const ans = await limits.debounce(flow, d.key, runId, opts)
    if (!ans.first) {
      try {
        await appendDebounced(shell, ans.holder, input, ans.until, hooks.foldKey)
      } catch (err) {
        // the window's run was never written (its start died after opening the window): the window
        // is dropped and this call opens a new one, instead of every call failing until it expires
        if (!isLeanflowError(err, 'INVALID_ARGUMENT') || !limits.dropDebounce || (await shell.states.read(ans.holder))) throw err
        await limits.dropDebounce(flow, d.key, ans.holder)
        return startLimited(shell, flow, runId, input, priority, hooks)
      }
      // after its flow.debounced: a start cut off before this folds again, into the same event
      return hooks.dedupTo(ans.holder)
    }
    // an idempotency key names the run the call opened (a repeat answers it)
    await hooks.claim(ans.holder)
    await create(runId, { reason: 'debounce', key: d.key, until: ans.until }, ans.until)
    return { runId }
  }
  // from here on the start writes a run unless the limits refuse it (or a singleton has one)
  hooks.prepare?.()
  if (lim.needs.length === 0 && !lim.singleton) {
    const id = await hooks.claim(runId)
    await create(id, undefined, undefined)
    return { runId: id }
  }
  const ans = await limits.acquireLimit(flow, {
    holder: runId,
    needs: lim.needs,
    priority,
    // a drop rate limit refuses the excess of its window, nothing else: a start that a full
    // concurrency limit holds back waits in line (decided in one step of the store)
    onBusy: lim.drop ? 'refuseRate' : 'queue',
    ...(lim.singleton ? { singleton: lim.singleton } : {}),
  })
  if (ans.state === 'taken') {
    if (!(await holderGone(shell, ans.holder))) return hooks.dedupTo(ans.holder)
    // a start that died between taking the key and writing its run (or a run that ended without
    // giving the key back): the key goes back, and this start asks again
    await release(shell, flow, ans.holder)
    return startLimited(shell, flow, runId, input, priority, hooks)
  }
  if (ans.state === 'refused') {
    const now = shell.clock.estimate()
    throw new RateLimitedError(flow, ans.blocked.key, (ans.blocked.retryAt ?? now) - now)
  }
  const id = await hooks.claim(runId)
  if (id !== runId) {
    // another start of the same key won the race: this one's slot goes back, and the key's run is the answer
    await release(shell, flow, runId)
    return startLimited(shell, flow, id, input, priority, hooks)
  }
  if (ans.superseded !== undefined) await supersede(shell, ans.superseded, cancel).catch(shell.onError)
  const waiting = ans.state === 'queued' ? waitingOf(ans.blocked) : undefined
  const doc = await create(runId, waiting, waiting ? admitAt(shell, ans.blocked ?? { id: '', key: '' }, 0) : undefined).catch(
    async (err: unknown) => {
      // nothing written (the queue refused its first job, the store its write): what it took goes back now
      if (wroteNothing(err)) await release(shell, flow, runId).catch(shell.onError)
      throw err
    },
  )
  await Promise.all([handOff(shell, flow, others(ans, runId)), wakeTurns(shell, flow, nextOf(ans), runId)])
  // a release that admitted this run before it was written found no run to start: ask once more
  // (its admit job, queued with it, stays the only backstop)
  if (doc.status === 'queued') await askAgain(shell, flow, runId, doc, 0, false)
  return { runId }
}

/**
 * Cancels the run a singleton start took the key from (`mode: 'cancel'`). A start racing this one
 * may hold the key before it has written its run: it is canceled once written, never left to run
 * beside the new one (a start that crashed before writing it leaves nothing to cancel).
 */
async function supersede(shell: Shell, runId: string, cancel: StartHooks['cancel']): Promise<void> {
  if (await writtenRun(shell, runId)) await cancel(runId, 'superseded')
}

/** Whether the run holding a singleton key is gone: never written (its start died after taking the key) or ended. */
async function holderGone(shell: Shell, holder: string): Promise<boolean> {
  const doc = await writtenRun(shell, holder)
  return !doc || isEnded(doc)
}

/**
 * The document of a run that holds a key, once written: a start racing this one may have taken
 * the key before writing its run, so a missing run is read again every 25 ms for
 * {@link SUPERSEDE_GRACE_MS}; undefined after that (its start died in between).
 */
async function writtenRun(shell: Shell, runId: string): Promise<RunDoc | undefined> {
  for (let waited = 0; ; waited += 25) {
    const doc = await shell.states.read(runId)
    if (doc || waited >= SUPERSEDE_GRACE_MS) return doc ?? undefined
    await new Promise((r) => setTimeout(r, 25))
  }
}

/** The `admit` job of a queued run: a debounce window came due, a rate window freed, or the backstop of a lost hand-off. */
export async function admitJob(shell: Shell, data: RunnerJobData): Promise<void> {
  const { runId } = data
  const flow = data.flow ?? ''
  // a job that waits for its window measures the store's clock again, in the read's round trip:
  // the wait is only as precise as this worker's estimate of that clock
  const [doc] = await Promise.all([shell.states.read(runId), data.due === undefined ? undefined : shell.clock.now()])
  if (!doc || isEnded(doc)) {
    // never written (its start crashed) or ended without giving its slots back: give them back now;
    // a turn's job may come while its start still writes the run (that start asks again itself)
    if (flow !== '' && shell.limits && (doc || !data.turn)) await release(shell, flow, runId)
    return
  }
  // admitted, its outputs cut off by a crash (a hand-off or an ask that wrote the run running and
  // died before its steps' jobs were queued, this job's removal with them): they are queued again
  // (their ids are the admit's, so a run going on finds them queued already, or its steps past ready)
  if (doc.status === 'running') {
    const jobs = readyJobs(runId, doc)
    if (jobs.length > 0) await carry(shell, runId, { appends: [], jobs, unwatch: [] })
    return
  }
  if (doc.status !== 'queued') return
  await askAgain(shell, doc.flow, runId, doc, data.tries ?? 0, true, data.due)
}

/** The `admit` job (id `id`) queued with run `runId` of flow `flow` when it is written waiting for `reason` until `at`. */
export function firstAdmitJob(id: string, runId: string, flow: string, reason: Waiting['reason'], at: number) {
  const when = admitTiming(reason, at)
  const data: RunnerJobData = when.due === undefined ? { runId, step: '', flow } : { runId, step: '', flow, due: when.due }
  return { op: 'add', name: 'admit', id, data, at: when.at } as const
}

/**
 * When the `admit` job of a run that may go at `at` is due in the queue: at `at` (no `due`), or,
 * when a rate limit keeps the run out, {@link RATE_WAKE_LEAD_MS} earlier with `due` = `at`.
 */
function admitTiming(reason: Waiting['reason'], at: number): { at: number; due?: number } {
  return reason === 'rateLimit' ? { at: at - RATE_WAKE_LEAD_MS, due: at } : { at }
}

/**
 * The run ended (or left its line): its slots go back, the runs that now fit are started, and the
 * run now first in a rate-limited line it left asks at its turn.
 */
export async function release(shell: Shell, flow: string, runId: string): Promise<void> {
  if (!shell.limits) return
  const { admitted, next } = await shell.limits.releaseLimit(flow, runId)
  await Promise.all([handOff(shell, flow, admitted), wakeTurns(shell, flow, next, runId)])
}

/**
 * Queued runs whose turn in a rate window moved (the run ahead of them was admitted or left the
 * line) ask again at it: an `admit` job each (of the id their first one had at that turn: a turn
 * that did not move queues nothing new). `self` (the asker) schedules its own.
 */
async function wakeTurns(shell: Shell, flow: string, next: readonly LimitTurn[] | undefined, self: string): Promise<void> {
  if (!next) return
  await Promise.all(next.filter((t) => t.holder !== self).map((t) => shell.queue.enqueue(turnJob(shell, t.holder, flow, t.retryAt))))
}

/** The `admit` job of a rate-limited run at its turn `at` (as {@link firstAdmitJob} queues it). */
function turnJob(shell: Shell, runId: string, flow: string, at: number) {
  const when = admitTiming('rateLimit', at)
  const id = jobIds.admit(runId, Math.round(at))
  return {
    id,
    name: 'admit',
    data: { ...admitData(runId, flow, 0, when.due), turn: true as const },
    delayMs: Math.max(0, Math.ceil(when.at - shell.clock.estimate())),
  }
}

/**
 * Starts runs the limits admitted (each `admit` once; a run already running is left alone). A
 * run not written yet is looked at again shortly (an `admit` job); one that ended gives back the
 * slot it was just given.
 */
export async function handOff(shell: Shell, flow: string, holders: readonly string[]): Promise<void> {
  await Promise.all(
    holders.map(async (runId) => {
      const { reply } = await apply(shell, runId, { type: 'admit' }, { fresh: true })
      if (reply === 'missing') {
        const at = shell.clock.estimate() + MISSING_GRACE_MS
        await shell.queue.enqueue({
          id: jobIds.admit(runId, at),
          name: 'admit',
          data: admitData(runId, flow, 0),
          delayMs: MISSING_GRACE_MS,
        })
      } else if (reply === 'ended') await release(shell, flow, runId)
    }),
  )
}

/**
 * Asks the limits again for a queued run (after a debounce window settles: with its last input):
 * admitted → it runs; else its `admit` job is queued for when it may go, and the holders of the
 * limit that keeps it out are checked for runs that ended without giving their slot back.
 */
async function askAgain(
  shell: Shell,
  flow: string,
  runId: string,
  doc: RunDoc,
  tries: number,
  backstop = true,
  due?: number,
): Promise<void> {
  const limits = requireLimits(shell.limits, flow)
  const fc = shell.controls.get(flow)
  let input: unknown
  if (doc.queued?.reason === 'debounce') {
    const settled = await limits.settleDebounce(flow, doc.queued.key ?? '', runId)
    if (settled && 'until' in settled) {
      // the window is still open by the store's clock (extended, or this job came early: this
      // worker's estimate of the store's clock drifted): measure the clock again, and ask again
      // with a job of another id (one of the same id as this running job would be dropped)
      await shell.clock.now()
      return schedule(shell, flow, runId, settled.until, tries + 1, 'debounce')
    }
    input = settled ? settled.input : undefined
    // best effort: the window is settled already, and the run must go on with its input
    if (settled) await logSettledInput(shell, runId, settled.input, shell.clock.estimate()).catch(shell.onError)
  }
  // a deploy since the run was queued left its flow without run-level limits here: it leaves the
  // line it waited in (its place, and what it held) and runs, rather than wait for a line no one moves
  if (!holdsRunSlots(fc) && doc.queued?.reason !== 'debounce') await release(shell, flow, runId)
  const runInput = input !== undefined ? input : (doc.input ?? (await shell.inputs.get(runId)))
  let needs: ReturnType<typeof runLimitsOf>['needs'] = []
  try {
    if (fc) needs = runLimitsOf(flow, fc, runInput).needs
  } catch (err) {
    // a key function that throws on the debounced input: the run goes on without its limits
    shell.onError(err)
  }
  // a job queued ahead of its rate window waits for it here (all read before: the ask goes out on time)
  const early = due === undefined ? 0 : due - shell.clock.estimate()
  if (early > 0) await new Promise((r) => setTimeout(r, Math.ceil(early)))
  const ans: LimitAnswer =
    needs.length === 0
      ? { state: 'admitted', admitted: [] }
      : await limits.acquireLimit(flow, { holder: runId, needs, priority: doc.priority ?? 0 })
  if (ans.state === 'admitted') {
    await apply(shell, runId, input === undefined ? { type: 'admit' } : { type: 'admit', input })
  } else if (ans.state === 'queued' && ans.blocked) {
    const w = waitingOf(ans.blocked)
    await apply(shell, runId, { type: 'queue', reason: w.reason, key: w.key, until: w.until, input })
    if (backstop) await schedule(shell, flow, runId, admitAt(shell, ans.blocked, tries), tries + 1, w.reason)
    if (tries > 0 && ans.blocked.retryAt === undefined) await sweep(shell, flow, runId)
  }
  if (ans.state !== 'taken' && ans.state !== 'refused') {
    await Promise.all([handOff(shell, flow, others(ans, runId)), wakeTurns(shell, flow, ans.next, runId)])
  }
}

/** The holders of the flow's run slots whose runs ended (or never were written) give their slots back. */
async function sweep(shell: Shell, flow: string, self: string): Promise<void> {
  const holders = (await requireLimits(shell.limits, flow).limitHolders(flow)).filter((h) => h !== self).slice(0, 100)
  for (const h of holders) {
    const d = await shell.states.read(h)
    if (!d || isEnded(d)) await release(shell, flow, h)
  }
}

function schedule(shell: Shell, flow: string, runId: string, at: number, tries: number, reason: Waiting['reason']): Promise<void> {
  const when = admitTiming(reason, at)
  return shell.queue.enqueue({
    id: jobIds.admit(runId, Math.round(at), tries),
    name: 'admit',
    data: admitData(runId, flow, tries, when.due),
    delayMs: Math.max(0, Math.ceil(when.at - shell.clock.estimate())),
  })
}

function admitData(runId: string, flow: string, tries: number, due?: number): RunnerJobData {
  return due === undefined ? { runId, step: '', flow, tries } : { runId, step: '', flow, tries, due }
}

/**
 * When a queued run asks again: at its turn in its rate window (the store counts the runs ahead of
 * it in line, so the runs queued together each ask when their own admission may come), else after
 * its backstop.
 */
function admitAt(shell: Shell, blocked: LimitBlock, tries: number): number {
  const now = shell.clock.estimate()
  if (blocked.retryAt !== undefined && blocked.id === 'rateLimit') return Math.max(now, blocked.retryAt)
  return now + (BACKSTOP_MS[Math.min(tries, BACKSTOP_MS.length - 1)] as number)
}

function waitingOf(blocked: LimitBlock | undefined): Waiting {
  if (!blocked) return { reason: 'concurrency' }
  if (blocked.id === 'rateLimit') return { reason: 'rateLimit', key: blocked.key, until: blocked.retryAt }
  return { reason: 'concurrency', key: blocked.key }
}

/** The turns an answer moved. */
function nextOf(ans: LimitAnswer): LimitTurn[] | undefined {
  return ans.state === 'admitted' || ans.state === 'queued' ? ans.next : undefined
}

/** The holders an answer admitted besides `self`. */
function others(ans: LimitAnswer, self: string): string[] {
  return ans.state === 'admitted' || ans.state === 'queued' ? ans.admitted.filter((h) => h !== self) : []
}

/** `flow.debounced` of a call folded into `runId` (once its `flow.started` is stored); `key`: its idempotency key, else a new one. */
async function appendDebounced(shell: Shell, runId: string, input: unknown, until: number, key?: string): Promise<void> {
  const event = { kind: 'flow.debounced', flow: runId, data: { input, until: new Date(until).toISOString() } }
  const opts = { idempotencyKey: key ?? `fd~${newId()}`, after: 'fs' }
  for (let i = 0; ; i++) {
    try {
      const record = await shell.store.append(runId, event, opts)
      if (!isRepeatedAppend(record)) shell.observers.appended(record)
      return
    } catch (err) {
      // the window's run is still being written by the call that opened it: wait for its flow.started
      if (i >= 40 || !isLeanflowError(err, 'INVALID_ARGUMENT')) throw err
      await new Promise((r) => setTimeout(r, 25))
    }
  }
}
