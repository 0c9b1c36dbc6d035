import type { RunBasis } from './runBasis.js'

const MAX_BASES = 10_000

/**
 * The {@link RunBasis} of each child an invoke of this process is about to start, by its run id:
 * the invoke reads the store's clock (its await's time) and the external-event position in one
 * round trip, and the child's start takes both instead of asking again. Bounded: a basis no start
 * takes (the execution was dropped before its suspend) goes once 10,000 newer ones came; a start
 * that finds none (a take-over's, a repair's) asks the store as any start does.
 */
export class ChildBases {
  private readonly bases = new Map<string, RunBasis>()

  /** Notes child `runId`'s basis. */
  note(runId: string, basis: RunBasis): void {
    if (this.bases.size >= MAX_BASES) this.bases.delete(this.bases.keys().next().value as string)
    this.bases.set(runId, basis)
  }

  /** Takes child `runId`'s basis (once), if this process noted one. */
  take(runId: string): RunBasis | undefined {
    const basis = this.bases.get(runId)
    this.bases.delete(runId)
    return basis
  }
}
