/**
 * A single flight per key that gathers work: while a `run` for a key is in flight, the items
 * added for that key wait, and the next `run` takes all of them at once (at most `max`), after a
 * rest as long as the last run took (see `rest`). Each item's promise settles with the run that
 * carried it: resolved once that run finished, rejected with its error when it threw. Used for children's ends: one compare-and-set of the parent's
 * document tells it every child that ended meanwhile, instead of one contended write per child.
 *
 * @example
 * ```ts
 * const ends = new Coalescer<string>(async (parent, children) => write(parent, children))
 * await Promise.all([ends.add('p', 'c1'), ends.add('p', 'c2')]) // write('p', ['c1']), then write('p', ['c2'])
 * ```
 */
export class Coalescer<T> {
  /** The items waiting for the next run of each key in flight (an entry exists while one is). */
  private readonly waiting = new Map<string, Array<Entry<T>>>()

  /**
   * @param run Carries a batch out; may answer how many more items of the key are still to come
   *   at most (the awaits still pending): when that many wait, the next run goes without a rest.
   */
  constructor(
    private readonly run: (key: string, items: T[]) => Promise<unknown>,
    private readonly max = 1000,
  ) {}

  /** Adds `item` for `key`: settles once a run that carried it finished (rejects when that run threw). */
  add(key: string, item: T): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const entry = { item, resolve, reject }
      const queue = this.waiting.get(key)
      if (queue) {
        queue.push(entry)
        return
      }
      this.waiting.set(key, [])
      void this.drain(key, [entry])
    })
  }

  /** Runs `batch`, then the items that came meanwhile, until none is left. */
  private async drain(key: string, first: Array<Entry<T>>): Promise<void> {
    let batch = first
    while (batch.length > 0) {
      const started = performance.now()
      let left: unknown
      try {
        const items = batch.map((e) => e.item)
        left = await this.run(key, items)
        for (const e of batch) e.resolve()
      } catch (err) {
        for (const e of batch) e.reject(err)
      }
      await this.rest(key, performance.now() - started, left)
      batch = this.waiting.get(key)?.splice(0, this.max) ?? []
    }
    this.waiting.delete(key)
  }

  /**
   * Before the next run of `key`: the I/O that came meanwhile first (items it adds join that run);
   * then, when the last run took `took` ms (over 1), as long again (at most {@link MAX_REST_MS}),
   * so a key's runs take at most about half of the time and each carries more items — while items
   * wait, and also while none does yet but the last run said more are to come (`left` over 0):
   * the next one then joins the items that follow it closely instead of going alone (a 1,000-child
   * fan-out on 25 slots: batches of 25 ends, not 1 and 24 in turn). No rest when the items waiting
   * are all that are to come: the last children of a fan-out wake their parent at once.
   */
  private async rest(key: string, took: number, left: unknown): Promise<void> {
    await new Promise((r) => setImmediate(r))
    const waiting = this.waiting.get(key)?.length ?? 0
    const more = typeof left === 'number' ? left - waiting : undefined
    if (took <= 1 || more === 0 || (more !== undefined && more < 0) || (waiting === 0 && more === undefined)) return
    // none waiting yet: long enough for the next ones to come together
    await new Promise((r) => setTimeout(r, Math.min(waiting === 0 ? 2 * took : took, MAX_REST_MS)))
  }
}

/** The longest rest between two runs of a key, ms. */
const MAX_REST_MS = 20

interface Entry<T> {
  item: T
  resolve: () => void
  reject: (err: unknown) => void
}
