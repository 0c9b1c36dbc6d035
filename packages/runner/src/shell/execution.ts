import { LeanflowError, NonRetriableError } from '@leanflow/core'
import type { AwaitRec, DoRec, Rec } from '../machine/runDoc.js'
import type { FlowDefinition } from '../types.js'
import type { AwaitGate } from './awaitGate.js'
import type { JobLock } from './heldLock.js'

const GONE_WHY = {
  lease: 'another worker took the step over',
  ended: 'its run ended: canceled, or failed by another step',
  timeout: 'the step ran longer than its timeout: the attempt failed, and a retry (if any) runs the handler again',
  handback: 'the runner handed the step back to the queue',
  suspended:
    'the step suspended on its pending awaits while the handler went on outside ctx calls; a promise that is not a ctx call (a fetch, a sleep after a Promise.race) does not keep a step running: do that work inside ctx.do',
  settled: 'its handler had already returned or thrown, and the step went on with that: await every ctx call',
} as const

/**
 * Thrown inside a dropped execution: it lost its lease, the run ended, or the runner handed it
 * back. What a handler's ctx call rejects with from then on: a `NonRetriableError` (code
 * `NON_RETRIABLE`, as a fenced append is) naming why, never an untyped error.
 */
export class ExecutionGone extends NonRetriableError {
  /** For a job handed back to look again soon: the delay it asks of the queue (JobHandler's `redeliverAfterMs`). */
  redeliverAfterMs?: number
  constructor(
    readonly why: keyof typeof GONE_WHY,
    cause?: unknown,
  ) {
    super(
      `This step execution is no longer current (${why}: ${GONE_WHY[why]}): nothing more of it is recorded. Stop work once ctx.signal aborts.`,
      cause === undefined ? undefined : { cause },
    )
    this.name = 'ExecutionGone'
  }
}

/** One run of a step handler on this worker, from claim to completion, failure or suspension. */
export class Execution {
  /** Next record position (call order of awaits and `ctx.do`). */
  cursor = 0
  /** Call order of `log`, `emit` and `state.set` (their idempotency keys). */
  seq = 0
  /**
   * A re-delivered job took the running step over (its worker crashed or handed it back): an
   * await's announcement (`step.await.*`, its timer job) may have been cut off, so replayed
   * awaits announce again (idempotent).
   */
  takeover = false
  /** Suspended, fenced, canceled or handed back: further calls are refused. */
  gone: ExecutionGone | undefined
  /**
   * A store call of the execution that failed after it was dropped for another reason (a child's
   * start, an announcement of the suspend its poll saw land): its job goes back to the queue
   * anyway, whose re-delivery repairs what the call left undone.
   */
  unfinished: unknown
  /**
   * The handler returned or threw: the step completes or fails with that outcome, and never
   * suspends on awaits still registering (they are closed, as a race's losers are).
   */
  settled = false
  /**
   * When this execution last knew it held the step's lease (`performance.now()` as a store call
   * that confirmed it was sent: its claim, a fenced write, a lease poll). A `ctx.do` whose
   * function would run well past it asks the store first (see `freshLease` in context.ts).
   */
  confirmedAt = performance.now()
  /** The queue's lock on the job, ms (`ActiveJob.lockMs`): known nothing for longer, the step may be another worker's. */
  lockMs: number | undefined
  /** How long the execution once knew nothing of its lease, when that was longer than half {@link Execution.lockMs} (see {@link Execution.confirmed}). */
  lapsedMs: number | undefined
  /** The queue's lock on the job, for a queue that renews it on demand (`ActiveJob.renewLock`; see `heldLock`). */
  jobLock: JobLock | undefined
  readonly abort = new AbortController()
  /** Appends queued by the sync logger, flushed before any state change. */
  pending: Promise<void> = Promise.resolve()
  /** User events (`log`, `emit`, `state.set`) waiting for the next flush. */
  readonly batch: Array<{ kind: string; data: unknown; seq: number }> = []
  /** Suspends the step once every awaited call waits (set by the context). */
  gate!: AwaitGate
  private stopFn!: (why: ExecutionGone) => void
  /**
   * Awaits registered but not yet written, by position: the write that suspends the step records
   * and announces them (one compare-and-set for the await and the suspend), or the next write of
   * a later position does first.
   */
  readonly deferred = new Map<number, AwaitRec>()
  /**
   * `ctx.patched` markers made but not written yet, by position: each goes with the step's next
   * record write (`takeMarks`); a step that writes nothing after one never stores it (its replay
   * finds no record there and takes the patched branch again).
   */
  readonly marks = new Map<number, DoRec>()
  /** Writes the deferred awaits (set by the context). */
  announceDeferred: (awaits: Array<{ pos: number; rec: AwaitRec }>) => Promise<void> = async () => {}
  /** The write of deferred awaits in flight (see {@link writeDeferred}). */
  private writing: Promise<void> = Promise.resolve()
  /** Writers of record positions waiting for the positions before theirs. */
  private readonly turns = new Map<number, { go: () => void; fail: (err: unknown) => void }>()
  private broken: { pos: number; err: unknown } | undefined
  /**
   * Set once a `ctx.do` effect ran and its result could not be recorded: a retry would run the
   * effect again, so this attempt's failure is final, whatever the handler did with the error
   * (it may catch it: its next ctx call cannot be recorded and fails the attempt).
   */
  unrecordedEffect: unknown
  /** Settles when the handler's promise must be dropped. */
  readonly stopped: Promise<ExecutionGone>
  /**
   * Settles once the step's suspend landed: its handler waits on awaits this execution left, and
   * holds nothing (a step slot goes back). Also when a poll of the run saw that suspend before
   * the write answered, and stopped the execution as one that lost its lease.
   */
  readonly parked: Promise<void>
  private parkFn!: () => void
  /** Its store calls in flight ({@link orHandBack}: a command's write and its outputs). */
  private readonly inflight = new Set<Promise<unknown>>()

  constructor(
    readonly runId: string,
    readonly step: string,
    readonly attempt: number,
    readonly lease: string,
    readonly jobId: string,
    readonly flow: FlowDefinition,
    readonly input: unknown,
    readonly records: Rec[],
    readonly results: Record<string, unknown>,
  ) {
    this.stopped = new Promise((resolve) => {
      this.stopFn = resolve
    })
    this.parked = new Promise((resolve) => {
      this.parkFn = resolve
    })
  }

  /** The step's suspend landed (see {@link Execution.parked}). */
  park(): void {
    this.parkFn()
  }

  /** Drops the handler: its promise is no longer awaited and its calls are refused. */
  stop(why: ExecutionGone['why'], cause?: unknown): ExecutionGone {
    if (!this.gone) {
      // a lease this execution lost to its own step's end (a call the handler did not await): say so
      this.gone = new ExecutionGone(why === 'lease' && this.settled ? 'settled' : why, cause)
      if (why !== 'suspended') this.abort.abort(this.gone)
      this.stopFn(this.gone)
    }
    return this.gone
  }

  /**
   * The lease was held at `at` (when the call that confirmed it was sent). An answer that comes
   * more than half the queue's lock after the last one (a blocked event loop, a frozen Redis:
   * every poll of the freeze answers at its end) confirms nothing: the lock may have lapsed
   * meanwhile, though the run still names this lease until another worker claims it. Half: a
   * queue renews its lock every half lock or so (BullMQ does), so the last renewal that took may
   * be that much older than the last answer here. The execution is marked
   * {@link Execution.lapsedMs} for good, and its next `ctx.do` hands the step back.
   */
  confirmed(at: number): void {
    const blind = performance.now() - this.confirmedAt
    if (this.lockMs !== undefined && blind > this.lockMs / 2) {
      this.lapsedMs ??= blind
      return
    }
    if (at > this.confirmedAt) this.confirmedAt = at
  }

  /** Why the run as read (`doc`) no longer gives this execution its step (`lease`: another holds it; `ended`: the run is over), or undefined while it does. */
  lost(doc: { status?: string; steps?: Record<string, { lease?: string | undefined } | undefined> } | null): 'lease' | 'ended' | undefined {
    if (doc?.status !== 'running') return 'ended'
    return doc.steps?.[this.step]?.lease === this.lease ? undefined : 'lease'
  }

  /** Throws when the execution was dropped. */
  check(): void {
    if (this.gone) throw this.gone
  }

  /**
   * At a ctx call's start: throws when the execution was dropped, or once its handler returned or
   * threw (`settled`). A call made after that is refused whatever the timing: before the step's
   * end was written its lease still held, and it was taken (a `state.set` stored after the
   * handler returned), or it waited on an end that never came (an await).
   */
  checkOpen(): void {
    this.check()
    if (this.settled) throw new ExecutionGone('settled')
  }

  /**
   * Runs the write of record position `pos` once every position before it is written (calls in
   * flight at once finish in any order; the step's records are written in call order). Deferred
   * awaits in between are written first.
   */
  async inOrder<T>(pos: number, write: () => Promise<T>): Promise<T> {
    // checked again after each write: an await deferred while it was written (before this call's
    // turn is registered, which a later defer would see) is written here, else no one would
    while (this.next() < pos && this.deferred.has(this.next())) await this.writeDeferred()
    if (this.next() < pos) {
      await new Promise<void>((go, fail) => {
        this.turns.set(pos, { go, fail })
        if (this.broken && this.broken.pos < pos) this.failTurns()
        // an await deferred at the next position while this call got here: written now, so this turn comes
        else if (this.deferred.has(this.next())) this.advance().catch((err) => this.stop('handback', err))
      })
    }
    try {
      return await write()
    } finally {
      await this.advance()
    }
  }

  /** After a write: the writer of the next position goes; a deferred await there is written first when a later write waits. */
  private async advance(): Promise<void> {
    for (;;) {
      const next = this.next()
      const turn = this.turns.get(next)
      if (turn) {
        this.turns.delete(next)
        turn.go()
        return
      }
      if (!this.deferred.has(next) || ![...this.turns.keys()].some((p) => p > next)) return
      await this.writeDeferred()
    }
  }

  /**
   * Registers the await `rec` at `pos` without writing it yet. When the write of a later call
   * already waits for this position (a `ctx.do` that finished while this await was registering),
   * the await is written now, so that write goes on.
   */
  defer(pos: number, rec: AwaitRec): void {
    this.deferred.set(pos, rec)
    if (pos !== this.next() || ![...this.turns.keys()].some((p) => p > pos)) return
    this.advance().catch((err) => this.stop('handback', err))
  }

  /**
   * Writes the deferred awaits from the next position on, as far as they follow one another (past
   * unwritten `ctx.patched` markers), all in one write: awaits registered at once take one
   * compare-and-set. One such write at a time: a call while one is in flight goes after it (so it
   * returns once the awaits that one took are written too).
   */
  writeDeferred(): Promise<void> {
    const run = this.writing.then(() => this.writeRuns())
    this.writing = run.catch(() => {})
    return run
  }

  /**
   * Calls `work` (a store call of this execution) and keeps it in flight until it settles: see
   * {@link quiet}.
   */
  track<T>(work: () => Promise<T>): Promise<T> {
    const p = work()
    this.inflight.add(p)
    const drop = () => {
      this.inflight.delete(p)
    }
    p.then(drop, drop)
    return p
  }

  /**
   * Settles once every store call of the execution in flight settled (those made meanwhile too).
   * Its job ends only then: an execution dropped while its suspend was still carried out (its
   * poll saw the step suspended: no lease) would else end its job before the suspend's outputs
   * (a child's start, an event catch-up) were done, and a worker that died then left them to
   * no re-delivery.
   */
  async quiet(): Promise<void> {
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight])
  }

  /** True while a store call of the execution is in flight (see {@link quiet}). */
  get busy(): boolean {
    return this.inflight.size > 0
  }

  /** Settles once the write of deferred awaits in flight, if any, is done (or failed). */
  async writesDone(): Promise<void> {
    await this.writing
  }

  private async writeRuns(): Promise<void> {
    for (;;) {
      this.check()
      const list: Array<{ pos: number; rec: AwaitRec }> = []
      for (let pos = this.next(); ; pos++) {
        if (this.marks.has(pos)) continue
        const rec = this.deferred.get(pos)
        if (!rec) break
        this.deferred.delete(pos)
        list.push({ pos, rec })
      }
      if (list.length === 0) return
      await this.announceDeferred(list)
      // a deferred await's own writer may wait for its turn (a trigger): its position is written now
      for (const [pos, turn] of this.turns) {
        if (pos >= this.next()) continue
        this.turns.delete(pos)
        turn.go()
      }
    }
  }

  /** The next position to write: after the written records and the unwritten `ctx.patched` markers that follow them. */
  next(): number {
    let n = this.records.length
    while (this.marks.has(n)) n++
    return n
  }

  /** Takes the unwritten markers before `pos`, in position order: they ride with the write at `pos` (see {@link placed}). */
  takeMarks(pos: number): Array<{ pos: number; rec: DoRec }> {
    return [...this.marks]
      .filter(([p]) => p < pos)
      .sort((a, b) => a[0] - b[0])
      .map(([p, rec]) => ({ pos: p, rec }))
  }

  /** The markers of a write that was stored: now records of the step. */
  placed(marks: Array<{ pos: number; rec: DoRec }>): void {
    for (const m of marks) {
      this.records[m.pos] = m.rec
      this.marks.delete(m.pos)
    }
  }

  /** Takes the deferred awaits, in position order (the caller writes them). */
  takeDeferred(): Array<{ pos: number; rec: AwaitRec }> {
    const out = [...this.deferred].sort((a, b) => a[0] - b[0]).map(([pos, rec]) => ({ pos, rec }))
    this.deferred.clear()
    return out
  }

  /** The call at `pos` failed before it was recorded: the writes of later calls fail rather than wait. */
  breakTurns(pos: number, err: unknown): void {
    this.broken ??= { pos, err }
    this.failTurns()
  }

  /** Why the call at `pos` cannot be recorded (a call before it failed unrecorded), or `undefined`: checked before a `ctx.do` runs its effect. */
  unrecordable(pos: number): Error | undefined {
    const b = this.broken
    if (!b || pos <= b.pos) return undefined
    const why = b.err instanceof Error ? b.err.message : String(b.err)
    return new UnrecordableCall(
      `The call at position ${pos} of step "${this.step}" cannot be recorded: the call at position ${b.pos} before it failed (${why}) and left no record, so none after it can be: the attempt fails (its retry runs both again). To go on after a failure, catch it inside the fn of that ctx.do (ctx.do('charge', async () => { try { … } catch { … } })), or in a step of its own; await each ctx call before the next when one may fail.`,
    )
  }

  private failTurns(): void {
    for (const [pos, t] of this.turns) {
      const err = this.unrecordable(pos)
      if (!err) continue
      this.turns.delete(pos)
      t.fail(err)
    }
  }
}

/** A promise that never settles: what a suspending await returns. */
export function never<T>(): Promise<T> {
  return new Promise<T>(() => {})
}

/**
 * Runs store work of a ctx call: an infrastructure failure (store down, lost
 * reply) hands the execution back, so its job is delivered again and
 * repairs what is missing; the handler never sees it as its own error.
 */
export async function orHandBack<T>(ex: Execution, work: () => Promise<T>): Promise<T> {
  try {
    return await ex.track(work)
  } catch (err) {
    if (err instanceof ExecutionGone) throw err
    // dropped already for another reason (its poll saw the step this very write suspended): the
    // job still goes back, so its re-delivery carries out what this write left undone
    if (ex.gone && ex.gone.why !== 'handback') ex.unfinished ??= err
    throw ex.stop('handback', err)
  }
}

/** The executions running in this process, by run: a cancel or a failed run drops them at once. */
export class LocalExecutions {
  private readonly runs = new Map<string, Set<Execution>>()

  add(ex: Execution): void {
    const set = this.runs.get(ex.runId) ?? new Set()
    set.add(ex)
    this.runs.set(ex.runId, set)
  }

  delete(ex: Execution): void {
    const set = this.runs.get(ex.runId)
    set?.delete(ex)
    if (set?.size === 0) this.runs.delete(ex.runId)
  }

  /** Drops every execution of the run. */
  stopRun(runId: string, why: ExecutionGone['why']): void {
    for (const ex of this.runs.get(runId) ?? []) ex.stop(why)
  }

  /** Drops every execution (`handback`: their jobs go back to the queue). */
  stopAll(why: ExecutionGone['why']): void {
    for (const set of this.runs.values()) for (const ex of set) ex.stop(why)
  }
}

/**
 * A ctx call that cannot be recorded: a call before it failed and left no record. The attempt
 * fails with it (retried as its policy says), also when it surfaces in a write of the step's own
 * (a suspend announcing an await made before that failure) rather than at the call.
 */
export class UnrecordableCall extends LeanflowError {
  constructor(message: string) {
    super('INVALID_ARGUMENT', message)
  }
}
