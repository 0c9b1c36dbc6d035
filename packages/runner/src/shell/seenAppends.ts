const MAX_RUNS = 10_000

/**
 * The idempotency keys of the runner's appends this process saw stored, by run: their
 * re-append is skipped (the store would keep the first anyway), and appends that must come
 * after them may ride behind a compare-and-set. Bounded: the oldest run is forgotten first.
 */
export class SeenAppends {
  private readonly runs = new Map<string, Set<string>>()

  /** True when this process saw the append keyed `key` of the run stored. */
  knows(runId: string, key: string): boolean {
    return this.runs.get(runId)?.has(key) === true
  }

  /** Notes that the append keyed `key` of the run is stored. */
  mark(runId: string, key: string): void {
    let set = this.runs.get(runId)
    if (!set) {
      if (this.runs.size >= MAX_RUNS) this.runs.delete(this.runs.keys().next().value as string)
      set = new Set()
      this.runs.set(runId, set)
    }
    set.add(key)
  }

  /** Forgets a run that ended (its terminal event is stored). */
  forget(runId: string): void {
    this.runs.delete(runId)
  }
}
