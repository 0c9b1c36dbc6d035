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
  private readonly writes: Coalescer<ChildEnd>
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
    this.writes = new Coalescer((parent, ends) => (this.box ? this.fold(this.box, parent) : write(parent, ends)))
  }

  /** Tells `parent` that child `end.childRunId` ended: settles once the end is durable (and, when this process is the teller, folded). */
  async tell(parent: string, end: ChildEnd): Promise<void> {
    if (!this.box) return this.writes.add(parent, end)
    const put = await this.box.put(parent, end.childRunId, end.outcome)
    if (!put.tell) return
    // a fan-out's ends come in a stream: a fold right after the last one would carry a few only
    const left = this.pending.get(parent)
    const wait = left !== undefined && left > 1 && put.sinceTakeMs !== undefined ? FOLD_GAP_MS - put.sinceTakeMs : 0
    if (wait > 0) await new Promise((r) => setTimeout(r, wait))
    await this.writes.add(parent, end)
  }

  /** Folds the parent's outbox into its document (the outcomes stay in the outbox until they are in it). */
  private async fold(box: Outbox, parent: string): Promise<undefined> {
    const ends = (await box.take(parent)) as ChildEnd[]
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
