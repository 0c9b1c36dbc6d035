import { compareEventIds } from '../eventIds.js'
import type { EventRecord } from '../events.js'
import { historyGone } from '../storeRefusals.js'
import type { MemoryEntry, MemoryRuns } from './memoryRuns.js'

const BATCH = 1000

/** Index of the first entry whose id is greater than `id` (or equal too, with `inclusive`), by binary search; 0 when `id` is absent. */
export function indexAfter(entries: readonly MemoryEntry[], id: string | undefined, inclusive = false): number {
  if (id === undefined) return 0
  let lo = 0
  let hi = entries.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    const c = compareEventIds(entries[mid]!.id, id)
    if (c < 0 || (c === 0 && !inclusive)) lo = mid + 1
    else hi = mid
  }
  return lo
}

/**
 * One `follow` iteration over a memory run. The store's doorbell wakes it; it
 * always reads from the run's entries after the last id it yielded, so it can
 * neither skip nor repeat an event. `return()` (a `break`), an aborted signal
 * or `store.close()` end it at once, even while a `next()` is waiting.
 */
export class MemoryFollower implements AsyncIterator<EventRecord> {
  readonly #runs: MemoryRuns
  readonly #runId: string
  readonly #signal: AbortSignal | undefined
  #last: string | undefined
  #buffer: string[] = []
  #started = false
  #done = false
  #unlisten: (() => void) | undefined
  #bell: { promise: Promise<void>; resolve: () => void } | undefined
  readonly #onAbort = () => this.#finish()

  constructor(runs: MemoryRuns, runId: string, after: string | undefined, signal: AbortSignal | undefined) {
    this.#runs = runs
    this.#runId = runId
    this.#last = after
    this.#signal = signal
  }

  async next(): Promise<IteratorResult<EventRecord>> {
    if (!this.#started) this.#start()
    for (;;) {
      if (this.#done) return { done: true, value: undefined }
      const json = this.#buffer.shift() ?? this.#refill()
      if (json !== undefined) return { done: false, value: JSON.parse(json) as EventRecord }
      const bell = (this.#bell ??= doorbell())
      await bell.promise
    }
  }

  async return(): Promise<IteratorResult<EventRecord>> {
    this.#finish()
    return { done: true, value: undefined }
  }

  [Symbol.asyncIterator](): this {
    return this
  }

  #start(): void {
    this.#started = true
    if (this.#signal?.aborted || this.#runs.closed) {
      this.#done = true
      return
    }
    // from 0-0 nothing can be gone: a run with no events yet is waited for, as without `after`
    if (this.#last !== undefined && this.#last !== '0-0' && !this.#runs.has(this.#runId)) {
      this.#done = true
      throw historyGone(this.#runId, this.#last)
    }
    this.#unlisten = this.#runs.listen(this.#runId, () => this.#ring())
    this.#signal?.addEventListener('abort', this.#onAbort, { once: true })
  }

  /** Loads the next batch after the last id; returns its first entry's JSON, or undefined when there is none. */
  #refill(): string | undefined {
    const run = this.#runs.get(this.#runId)
    if (!run) return undefined
    const from = indexAfter(run.entries, this.#last)
    const batch = run.entries.slice(from, from + BATCH)
    if (batch.length === 0) return undefined
    this.#last = batch[batch.length - 1]!.id
    this.#buffer = batch.map((e) => e.json)
    return this.#buffer.shift()
  }

  #ring(): void {
    if (this.#runs.closed) this.#finish()
    const bell = this.#bell
    this.#bell = undefined
    bell?.resolve()
  }

  #finish(): void {
    if (!this.#done) {
      this.#done = true
      this.#buffer = []
      this.#unlisten?.()
      this.#unlisten = undefined
      this.#signal?.removeEventListener('abort', this.#onAbort)
    }
    const bell = this.#bell
    this.#bell = undefined
    bell?.resolve()
  }
}

function doorbell(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void
  const promise = new Promise<void>((r) => {
    resolve = r
  })
  return { promise, resolve }
}
