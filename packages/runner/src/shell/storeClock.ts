import type { RunStateStore } from '@leanflow/core'

/** How long a measured offset stands for {@link StoreClock.recent}, ms. */
const FRESH_MS = 1000
/** The longest ask whose offset {@link StoreClock.recent} trusts (its error is at most half of it), ms. */
const TRUSTED_ASK_MS = 20

/**
 * The store's clock, the one every deadline is measured on: asked (one round trip), or
 * estimated from this worker's clock and the offset measured at the last ask (durations only).
 */
export class StoreClock {
  private offset = 0
  /** At the last trusted ask: this worker's clock, and the monotonic clock (never: -Infinity). */
  private askedLocal = 0
  private askedMono = Number.NEGATIVE_INFINITY

  constructor(
    private readonly store: Pick<RunStateStore, 'now'>,
    /** This worker's clock. */
    private readonly local: () => number,
  ) {}

  /** The store's clock, asked; also re-measures the local offset. */
  async now(): Promise<number> {
    const t0 = this.local()
    const m0 = performance.now()
    const now = await this.store.now()
    const t1 = this.local()
    const m1 = performance.now()
    this.offset = now - Math.round((t0 + t1) / 2)
    // a slow ask's offset is not trusted: `recent` asks again until a quick one measures it
    this.askedLocal = t1
    this.askedMono = m1 - m0 <= TRUSTED_ASK_MS ? m1 : Number.NEGATIVE_INFINITY
    return now
  }

  /**
   * The store's clock as {@link now} would answer it, without the round trip when it can: estimated
   * when the last ask measured the offset less than a second ago and answered within 20 ms (so the
   * estimate is off by 10 ms at most, about what an ask of its own is off under such load), and this
   * worker's clock kept pace with its monotonic clock since (no step of the system clock, no jump of
   * an injected one); else asked.
   *
   * @example
   * ```ts
   * const since = await shell.clock.recent() // an await's registration time
   * ```
   */
  recent(): number | Promise<number> {
    const age = performance.now() - this.askedMono
    const local = this.local()
    if (age < FRESH_MS && Math.abs(local - this.askedLocal - age) <= 2) return local + this.offset
    return this.now()
  }

  /** The store's clock estimated locally (durations only, never deadlines). */
  estimate(): number {
    return this.local() + this.offset
  }
}
