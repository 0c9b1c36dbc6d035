import type { AwaitRec } from '../machine/runDoc.js'

/**
 * The awaits of one execution that its handler is waiting on, and when the step suspends: once no
 * ctx call is in progress (`busy`) and every awaited call waits on a pending await, the step
 * suspends on all of them at once (`Promise.all`, `Promise.race`, loops of `ctx.await.*` and
 * `ctx.invoke`). Awaits already settled — replayed, or resolved before the step could suspend —
 * are handed to the handler one at a time in the order they settled (then call position), each
 * after the handler reacted to the one before: a replay sees the same order the first run saw, so
 * a `Promise.race` picks the same winner.
 */

/** Settles the promise of the handler's await call with the record it resolved to. */
type Deliver = (r: AwaitRec) => void

/** What the gate asks of the execution when it is time to suspend. */
export interface GateHooks {
  /**
   * Suspends the step on the pending awaits at `positions`: `suspended`, or the records of those
   * that are no longer pending (the step goes on with them).
   */
  suspend(positions: number[]): Promise<'suspended' | Array<{ pos: number; rec: AwaitRec }>>
  /** A failure of the suspend itself (the execution is handed back or dropped). */
  fail(err: unknown): void
  /** True once the execution was dropped: the gate does nothing more. */
  gone(): boolean
}

export class AwaitGate {
  /** ctx calls in progress (a `do`, a registration, a state read…): no suspend while any is. */
  private busyCount = 0
  /** Pending awaits the handler waits on, by call position. */
  private readonly waiting = new Map<number, Deliver>()
  /** Settled awaits not yet handed to the handler. */
  private readonly ready: Array<{ pos: number; rec: AwaitRec; deliver: Deliver }> = []
  private scheduled = false
  private suspending = false

  constructor(private readonly hooks: GateHooks) {}

  /** Await calls made and not yet handed their outcome (counted from the call, before registration). */
  private open = 0

  /** How many awaits the handler has called and not yet received the outcome of. */
  get pending(): number {
    return this.open
  }

  /** An await call begins (counted at once, so a burst of calls is counted before any registers). */
  opened(): void {
    this.open++
  }

  /** The positions of the awaits the handler waits on that are still pending, in order. */
  pendingPositions(): number[] {
    return [...this.waiting.keys()].sort((a, b) => a - b)
  }

  /** Runs a ctx call's work; the step cannot suspend meanwhile. */
  async busy<T>(work: () => Promise<T>): Promise<T> {
    this.busyCount++
    try {
      return await work()
    } finally {
      this.busyCount--
      if (this.busyCount === 0) for (const go of this.idlers.splice(0)) go()
      this.schedule()
    }
  }

  /** Callers of {@link idle} waiting for the ctx calls in progress to end. */
  private readonly idlers: Array<() => void> = []

  /** Settles once no ctx call is in progress (at once when none is): calls the handler did not await end first. */
  idle(): Promise<void> {
    if (this.busyCount === 0) return Promise.resolve()
    return new Promise((go) => this.idlers.push(go))
  }

  /** The handler waits on the await at `pos` (its record `rec`): its value comes through `deliver`. */
  wait(pos: number, rec: AwaitRec, deliver: Deliver): void {
    const handOver: Deliver = (r) => {
      this.open = Math.max(0, this.open - 1)
      deliver(r)
    }
    if (rec.state === 'pending') this.waiting.set(pos, handOver)
    else this.ready.push({ pos, rec, deliver: handOver })
    this.schedule()
  }

  private schedule(): void {
    if (this.scheduled) return
    this.scheduled = true
    setImmediate(() => {
      this.scheduled = false
      void this.step()
    })
  }

  /** One decision: hand over the earliest settled await, else suspend when nothing else can progress. */
  private async step(): Promise<void> {
    if (this.hooks.gone() || this.busyCount > 0 || this.suspending) return
    if (this.ready.length > 0) {
      this.ready.sort((a, b) => (a.rec.doneAt ?? 0) - (b.rec.doneAt ?? 0) || a.pos - b.pos)
      const next = this.ready.shift() as { rec: AwaitRec; deliver: Deliver }
      next.deliver(next.rec)
      // the next one after the handler reacted (its microtasks ran)
      this.schedule()
      return
    }
    if (this.waiting.size === 0) return
    this.suspending = true
    try {
      const reply = await this.hooks.suspend(this.pendingPositions())
      if (reply === 'suspended') return
      for (const { pos, rec } of reply) {
        const deliver = this.waiting.get(pos)
        if (!deliver) continue
        this.waiting.delete(pos)
        this.ready.push({ pos, rec, deliver })
      }
    } catch (err) {
      this.hooks.fail(err)
      return
    } finally {
      this.suspending = false
    }
    this.schedule()
  }
}
