import type { RunStateStore } from '@leanflow/core'

/**
 * The store's clock, the one every deadline is measured on: asked (one round trip), or
 * estimated from this worker's clock and the offset measured at the last ask (durations only).
 */
export class StoreClock {
  private offset = 0

  constructor(
    private readonly store: Pick<RunStateStore, 'now'>,
    /** This worker's clock. */
    private readonly local: () => number,
  ) {}

  /** The store's clock, asked; also re-measures the local offset. */
  async now(): Promise<number> {
    const t0 = this.local()
    const now = await this.store.now()
    this.offset = now - Math.round((t0 + this.local()) / 2)
    return now
  }

  /** The store's clock estimated locally (durations only, never deadlines). */
  estimate(): number {
    return this.local() + this.offset
  }
}
