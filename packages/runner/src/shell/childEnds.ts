import type { RunStateStore } from '@leanflow/core'
import type { ChildEnd } from '../machine/index.js'
import { Coalescer } from './coalescer.js'

/**
 * How a child's end reaches its parent. With a store that has an outbox of child outcomes
 * (`RunStateStore.putChildOutcome`), the end is put there (one small atomic write in the
 * parent's slot, durable: the child's job is done once it is stored), and only the end the store
 * names the teller folds the outbox into the parent's document — every outcome put since the last
 * fold, from every process, in one compare-and-set, which resolves their awaits and wakes the
 * step (`resolveChildren`). Without one, every end is written into the parent's document by its own
 * process (gathered per parent while a write is in flight), its job waiting for that write.
 */
export class ChildEnds {
  /** One fold (or write of ends) per parent at a time in this process; ends that come meanwhile go in the next. */
  private readonly writes: Coalescer<Told>
  /** Per parent, how many of its child awaits were still pending after this process's last fold (a hint). */
  private readonly pending = new Map<string, number>()
  private readonly box: Outbox | undefined

  /**
   * @param write Resolves the awaits of children `ends` in `parent`'s document (one compare-and-set) and queues
   *   its resume; answers how many of its child awaits are still pending (`tellParent`).
   * @param onError Where a failed removal of folded outcomes goes (they are folded again, harmlessly, or expire).
   */
  constructor(
    store: RunStateStore,
    private readonly write: (parent: string, ends: ChildEnd[]) => Promise<number>,
    private readonly onError: (err: unknown) => void,
  ) {
    this.box = outboxOf(store)
    this.writes = new Coalescer<Told>((parent, items) => (this.box ? this.fold(this.box, parent, items) : write(parent, items)))
  }

  /** Tells `parent` that child `end.childRunId` ended: settles once the end is durable (and, when this process is the teller, folded). */
  async tell(parent: string, end: ChildEnd): Promise<void> {
    if (!this.box) return this.writes.add(parent, end)
    // a fan-out's ends come in a stream: a fold right after the last one would carry a few only
    const left = this.pending.get(parent)
    const mayWait = left !== undefined && left > 1
    // a teller that folds at once takes the outbox with its put (one round trip: a lone child's end)
    const put = await this.box.put(parent, end.childRunId, end.outcome, { take: !mayWait })
    if (!put.tell) return
    const wait = mayWait && put.sinceTakeMs !== undefined ? FOLD_GAP_MS - put.sinceTakeMs : 0
    if (wait > 0) await new Promise((r) => setTimeout(r, wait))
    await this.writes.add(parent, { ...end, taken: put.taken as ChildEnd[] | undefined })
  }

  /**
   * Folds the parent's outbox into its document: what the tellers of `items` took with their puts,
   * or else the outbox taken now (the outcomes stay in the outbox until they are in the document).
   */
  private async fold(box: Outbox, parent: string, items: Told[]): Promise<undefined> {
    const took = items.flatMap((i) => i.taken ?? [])
    const ends = items.every((i) => i.taken) ? unique(took) : unique([...took, ...((await box.take(parent)) as ChildEnd[])])
    if (ends.length === 0) return undefined
    const left = await this.write(parent, ends)
    // not awaited: an outcome folded twice resolves nothing twice, and the outbox expires anyway
    const folded = ends.map((e) => e.childRunId)
    box.drop(parent, folded).catch(this.onError)
    this.pending.delete(parent)
    if (left > 0) {
      if (this.pending.size >= MAX_HINTS) this.pending.clear()
      this.pending.set(parent, left)
    }
    return undefined
  }
}

/** A child's end as the coalescer carries it: with the outbox its teller took with its put, if it did. */
interface Told extends ChildEnd {
  taken?: ChildEnd[] | undefined
}

/** Each child once (its first outcome). */
function unique(ends: ChildEnd[]): ChildEnd[] {
  const seen = new Set<string>()
  return ends.filter((e) => !seen.has(e.childRunId) && seen.add(e.childRunId))
}

/** The least time between two folds of one parent's outbox while many of its children are pending, ms. */
const FOLD_GAP_MS = 10
const MAX_HINTS = 10_000

interface Outbox {
  put: NonNullable<RunStateStore['putChildOutcome']>
  take: NonNullable<RunStateStore['takeChildOutcomes']>
  drop: NonNullable<RunStateStore['dropChildOutcomes']>
}

/** The store's outbox methods, when it has all three. */
function outboxOf(store: RunStateStore): Outbox | undefined {
  const { putChildOutcome: put, takeChildOutcomes: take, dropChildOutcomes: drop } = store
  if (!put || !take || !drop) return undefined
  return { put: put.bind(store), take: take.bind(store), drop: drop.bind(store) }
}
