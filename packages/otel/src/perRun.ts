/**
 * Values kept per run and key, at most `max` in all (past it the oldest run's oldest goes first), so
 * a run's end takes its own entries without scanning every other run's: with several workers the
 * runs a process saw but others ended stay until evicted, and a scan of them all at every end made
 * each end slower the longer the process ran.
 *
 * @example
 * ```ts
 * const open = new PerRun<number>(10_000)
 * open.set('r1', 'charge\u00001', 5)
 * open.take('r1') // Map { 'charge\u00001' => 5 }, and r1 is gone
 * ```
 */
export class PerRun<V> {
  private readonly runs = new Map<string, Map<string, V>>()
  private size = 0

  constructor(private readonly max: number) {}

  get(runId: string, key: string): V | undefined {
    return this.runs.get(runId)?.get(key)
  }

  set(runId: string, key: string, value: V): void {
    if (this.runs.get(runId)?.has(key) !== true) {
      if (this.size >= this.max) this.evictOldest()
      this.size++
    }
    let entries = this.runs.get(runId)
    if (!entries) {
      entries = new Map()
      this.runs.set(runId, entries)
    }
    entries.set(key, value)
  }

  delete(runId: string, key: string): void {
    const entries = this.runs.get(runId)
    if (!entries?.delete(key)) return
    this.size--
    if (entries.size === 0) this.runs.delete(runId)
  }

  /** Removes and returns the run's entries (empty when none). */
  take(runId: string): Map<string, V> {
    const entries = this.runs.get(runId)
    if (!entries) return new Map()
    this.runs.delete(runId)
    this.size -= entries.size
    return entries
  }

  private evictOldest(): void {
    const oldest = this.runs.entries().next().value
    if (!oldest) return
    const [runId, entries] = oldest
    entries.delete(entries.keys().next().value as string)
    this.size--
    if (entries.size === 0) this.runs.delete(runId)
  }
}
