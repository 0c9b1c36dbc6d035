import type { RunBasis } from './runBasis.js'

const MAX_BASES = 10_000

/** A child's basis as noted: its time, and its position once asked. */
interface Noted {
  now: number
  pos?: Promise<number>
}

/**
 * The {@link RunBasis} of each child an invoke of this process is about to start, by its run id:
 * its time is the invoke's await's (read when the await registers), its external-event position is
 * asked right before the write that records the await goes out (`ask()`: both in one round trip),
 * and the child's start takes both instead of asking again. Bounded: a basis no start takes (the
 * execution was dropped before its write) goes once 10,000 newer ones came; a start that finds none
 * (a take-over's, a repair's) asks the store as any start does.
 */
export class ChildBases {
  private readonly bases = new Map<string, Noted>()
  /** Noted and not yet asked. */
  private unasked: Noted[] = []

  /** @param position Asks the store's external-event position (`externalPosition`). */
  constructor(private readonly position: () => Promise<number>) {}

  /** Notes child `runId`, whose await registered at store time `now`. */
  note(runId: string, now: number): void {
    if (this.bases.size >= MAX_BASES) this.bases.delete(this.bases.keys().next().value as string)
    const noted: Noted = { now }
    this.bases.set(runId, noted)
    this.unasked.push(noted)
  }

  /**
   * Asks the position for the children noted since the last call, once for all of them (their
   * awaits registered together: a fan-out of 1,000 is one read, not 1,000): a write that records
   * their awaits goes out next, in the same round trip.
   */
  ask(): void {
    if (this.unasked.length === 0) return
    const asking = this.unasked
    this.unasked = []
    const pos = this.asked()
    for (const b of asking) b.pos ??= pos
  }

  /** Takes child `runId`'s basis (once), if this process noted one. */
  take(runId: string): Promise<RunBasis> | undefined {
    const b = this.bases.get(runId)
    if (!b) return undefined
    this.bases.delete(runId)
    const pos = b.pos ?? this.asked()
    return pos.then((p): RunBasis => [b.now, p])
  }

  private asked(): Promise<number> {
    const pos = this.position()
    pos.catch(() => {}) // its child's start fails with it (the execution is handed back, the start repeated)
    return pos
  }
}
