import { isLeanflowError, LeanflowError } from '@leanflow/core'
import type { JobOut } from '../machine/commands.js'
import type { RunnerJobData } from '../machine/keys.js'
import { ExecutionGone } from './execution.js'
import type { Shell } from './shell.js'

/**
 * How long a run's first job looks for its run, in ms since its start queued it: the start queues
 * its first jobs before it writes the run, so a job that comes first (on another worker) waits for
 * the write; past this long (twice the Redis store's default `commandTimeout`) the start died or
 * its write was refused, and the job ends with nothing done.
 */
export const FIRST_WRITE_GRACE_MS = 10_000

/**
 * How long a first job whose run is not written yet holds its worker's slot, in ms since the start
 * queued it: a start's write lands within ms of its jobs being queued, and a later one is waited
 * for through the queue (the job goes back, asking to be delivered again after half its age)
 * rather than in a slot. First jobs whose start died before its write (a parent's worker killed as it
 * started its children) would otherwise hold every slot for the whole grace, ahead of the jobs
 * that write their runs (that parent's own): a fan-out of 200 such children on 20 slots took
 * 10 s to repair, and up to 100 s once the parent's job came last.
 */
export const FIRST_WRITE_HOLD_MS = 500

/**
 * A start whose write lands this close to {@link FIRST_WRITE_GRACE_MS} after it queued the run's
 * first jobs (or later) queues them again: their first delivery may have given up on the run. The
 * margin covers the error of two processes' estimates of the store's clock.
 */
const LATE_WRITE_MARGIN_MS = 1_000

/** The errors of starts that wrote nothing for sure (see {@link wroteNothing}). */
const unwritten = new WeakSet<object>()

/**
 * True when `err`, thrown by a start, comes from before its run's write or from a write refused
 * for sure: no run was written, nor will be (a write with no answer may still land: false). A
 * start under flow control then gives back what the limits gave it.
 */
export function wroteNothing(err: unknown): boolean {
  return typeof err === 'object' && err !== null && unwritten.has(err)
}

/** Rethrows `err` of a step before a start's write, noted as one that wrote nothing. */
export function beforeWrite(err: unknown): never {
  if (typeof err === 'object' && err !== null) unwritten.add(err)
  throw err
}

/** Rethrows `err` of a start's write, noted as one that wrote nothing unless the write got no answer. */
function afterWrite(err: unknown): never {
  if (isLeanflowError(err, 'STORE_UNAVAILABLE')) throw err
  return beforeWrite(err)
}

/** What became of a start's write: stored, refused (nothing stored), or unknown (no answer in time: it may still land). */
type WriteOutcome = 'written' | 'refused' | 'unknown'

/**
 * The run writes of the starts this process has in flight on one store, by run id: a first job
 * this process takes (on any runner over that store) while a start still writes its run waits for
 * that write, without asking the store. One per store object ({@link startWritesOf}).
 */
export class StartWrites {
  private readonly writing = new Map<string, Promise<WriteOutcome>>()

  /**
   * Notes that this process starts writing run `runId` (before it queues the run's first jobs);
   * `settle` tells how the write ended (no error: stored, and what the start learned of it noted),
   * and lets the first jobs waiting for it go on.
   */
  begin(runId: string): { settle(err?: unknown): void } {
    let settle: (o: WriteOutcome) => void = () => {}
    const outcome = new Promise<WriteOutcome>((resolve) => {
      settle = resolve
    })
    this.writing.set(runId, outcome)
    return {
      settle: (...args: unknown[]) => {
        if (this.writing.get(runId) === outcome) this.writing.delete(runId)
        if (args.length === 0) settle('written')
        else settle(isLeanflowError(args[0], 'STORE_UNAVAILABLE') ? 'unknown' : 'refused')
      },
    }
  }

  /** The outcome of this process's write of run `runId`, when it has one in flight. */
  outcome(runId: string): Promise<WriteOutcome> | undefined {
    return this.writing.get(runId)
  }
}

const byStore = new WeakMap<object, StartWrites>()

/** The {@link StartWrites} of `store`, shared by the runners of this process over that store object. */
export function startWritesOf(store: object): StartWrites {
  let writes = byStore.get(store)
  if (!writes) {
    writes = new StartWrites()
    byStore.set(store, writes)
  }
  return writes
}

/**
 * A new run's first jobs (`jobs`: those of its ready steps), marked as queued before the run is
 * written (`first`: the store-clock ms they were queued at), so a worker that takes one before the
 * write landed waits for it ({@link waitForRun}) instead of dropping it.
 */
export function firstJobs(shell: Shell, jobs: JobOut[]): JobOut[] {
  const first = Math.round(shell.clock.estimate())
  return jobs.map((j) => (j.op === 'add' ? { ...j, data: { ...j.data, first } } : j))
}

/**
 * Whether a first job of run `data.runId` may go on: its run's start wrote the run (or may still:
 * `true`), or certainly never will (`false`: the start died, or its write was refused). A start of
 * this process in flight is waited for without a read; else the store is read every few ms (2, 4,
 * 8, … up to 250) until the run shows, for at most {@link FIRST_WRITE_GRACE_MS} since the job was
 * queued. Past {@link FIRST_WRITE_HOLD_MS} since then (at once for a job taken that late) the job
 * goes back to the queue after one read that finds no run (thrown: `ExecutionGone` `handback`,
 * which no one reports, asking to be delivered again after half its age, 250 ms to 2 s), and so
 * does it when the runner stops. `poll: false` only waits for this
 * process's own write (the caller reads the run anyway).
 *
 * @example
 * ```ts
 * if (data.first !== undefined && !(await waitForRun(shell, data, { poll: true }))) return // never written
 * ```
 */
export async function waitForRun(shell: Shell, data: RunnerJobData, opts: { poll: boolean }): Promise<boolean> {
  const local = shell.starts.outcome(data.runId)
  if (local) {
    const outcome = await local
    if (outcome === 'written') return true
    if (outcome === 'refused') return false
  }
  if (!opts.poll) return true
  const since = data.first ?? 0
  for (let pause = 2; ; pause = Math.min(pause * 2, 250)) {
    // the age is taken before the read: a job gives up only on a read made after the grace ran
    // out, which a late write's start sees as late too ({@link writeRun} queues the jobs again)
    const age = shell.clock.estimate() - since
    if (await shell.states.read(data.runId)) return true
    if (age >= FIRST_WRITE_GRACE_MS) return false
    // a draining runner hands the job back (another worker looks on) instead of holding its stop
    if (shell.stopping) throw new ExecutionGone('handback')
    // a job this old goes back too, its slot free for others (the job that writes its run may be
    // one), to look again after half its age (250 ms to 2 s): a write that lands late is found
    // that much after it at most, and a job whose start died is read about 10 times in its grace
    if (age >= FIRST_WRITE_HOLD_MS)
      throw Object.assign(new ExecutionGone('handback'), { redeliverAfterMs: Math.round(Math.min(2000, Math.max(250, age / 2))) })
    await new Promise((r) => setTimeout(r, pause))
  }
}

/**
 * After a write that landed late (a start paused or slowed for about {@link FIRST_WRITE_GRACE_MS}
 * between queueing the first jobs and writing the run), queues them again: a worker that took one
 * meanwhile may have given up on the run and ended it, which would leave the run `running` with
 * nothing queued. A copy of a job still queued or running is a no-op; one of a job that ran finds
 * its step claimed already.
 */
async function requeueIfLate(shell: Shell, early: JobOut[], queuedSince: number | undefined): Promise<void> {
  const first = early.find((j) => j.op === 'add')
  const own = first?.op === 'add' ? first.data.first : undefined
  // an earlier start of the run (a child started again after a crash) may have queued the same
  // jobs since `queuedSince`: a copy of them still queued then kept its own, older, time, and this
  // start's enqueue of them was a no-op
  const since = own === undefined ? undefined : Math.min(own, queuedSince ?? own)
  if (since === undefined || shell.clock.estimate() - since < FIRST_WRITE_GRACE_MS - LATE_WRITE_MARGIN_MS) return
  await enqueueAll(shell, early)
}

/**
 * Queues a new run's first jobs `early` (from {@link firstJobs}), then writes the run (`write`:
 * its `createRun` and what the start notes of it), noted in flight for the jobs this process
 * takes meanwhile. A write refused for sure removes the jobs (one left finds no run and ends); one
 * that got no answer (`STORE_UNAVAILABLE`: it may still land) leaves them for it. A write that
 * landed late queues them again (their first delivery may have given up on the run); late is
 * counted from `queuedSince` when given (a child's: when its await was recorded, so that a start
 * of it again after a crash, whose enqueue found the first start's jobs still queued, counts from
 * theirs). A queue that refuses the jobs refuses the start: nothing is written. With no jobs
 * `early` (the memory queue, which dies with the process and never refuses one), the first jobs
 * `unanswered` are queued only after a write that got no answer: they run the run if it lands
 * (else it would wait `running` for ever, nothing queued).
 *
 * @example
 * ```ts
 * const res = await writeRun(shell, runId, firstJobs(shell, startJobs(runId, fresh)), undefined, () => store.createRun(runId, fresh, first, opts))
 * ```
 */
export async function writeRun<T>(
  shell: Shell,
  runId: string,
  early: JobOut[],
  queuedSince: number | undefined,
  write: () => Promise<T>,
  unanswered: JobOut[] = [],
): Promise<T> {
  if (early.length === 0)
    return write().catch(async (err: unknown) => {
      if (unanswered.length > 0 && isLeanflowError(err, 'STORE_UNAVAILABLE') && !wroteNothing(err))
        await enqueueAll(shell, firstJobs(shell, unanswered)).catch(shell.onError)
      return afterWrite(err)
    })
  const writing = shell.starts.begin(runId)
  let out: T
  let issued = false
  try {
    await enqueueAll(shell, early).catch((err: unknown) => {
      throw notStarted(runId, err)
    })
    issued = true
    out = await write()
    writing.settle()
  } catch (err) {
    writing.settle(err)
    if (!isLeanflowError(err, 'STORE_UNAVAILABLE')) for (const j of early) await shell.queue.remove(j.id).catch(() => {})
    return issued ? afterWrite(err) : beforeWrite(err)
  }
  // the run is written: a queue that refuses the copies now is told, the start stands
  await requeueIfLate(shell, early, queuedSince).catch((err) => shell.onError(err))
  return out
}

/**
 * A start whose first job the queue did not take (Redis out of reach, full): the queue's message
 * names a job id the caller never saw and says to retry the enqueue; the caller retries the start.
 */
function notStarted(runId: string, err: unknown): unknown {
  if (!isLeanflowError(err, 'STORE_UNAVAILABLE') && !isLeanflowError(err, 'STORE_FULL')) return err
  // the queue's own message says to retry its enqueue with the job id: the caller retries the start (err.cause keeps it)
  const why = err.code === 'STORE_FULL' ? "the queue's Redis is full" : "the queue's Redis could not be reached in time"
  return new LeanflowError(
    err.code,
    `Run "${runId}" was not started: the queue did not take its first job (${why}). Nothing of the run was written: start it again once the queue is reachable (with an idempotencyKey, a retry never starts it twice).`,
    { cause: err },
  )
}

function enqueueAll(shell: Shell, jobs: JobOut[]): Promise<unknown> {
  return Promise.all(jobs.map((j) => (j.op === 'add' ? shell.queue.enqueue({ id: j.id, name: j.name, data: j.data }) : undefined)))
}
