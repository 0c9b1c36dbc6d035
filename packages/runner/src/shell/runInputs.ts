import type { StreamStore } from '@leanflow/core'

const MAX_INPUTS = 1000

/** Each run's input, from its `flow.started` event (cached: it never changes). Bounded. */
export class RunInputs {
  private readonly inputs = new Map<string, unknown>()
  /** Reads of `flow.started` in flight (a prefetch), by run: `get` waits for the one there is. */
  private readonly reading = new Map<string, Promise<unknown>>()

  constructor(private readonly store: Pick<StreamStore, 'read'>) {}

  /** A copy of the run's input: a handler that mutates its input changes no other step's view. */
  async get(runId: string): Promise<unknown> {
    if (this.inputs.has(runId)) return structuredClone(this.inputs.get(runId))
    // a prefetch that failed is no answer: read again (its error was the prefetch's, not this call's)
    const input = await (this.reading.get(runId)?.catch(() => this.load(runId)) ?? this.load(runId))
    return structuredClone(input)
  }

  /**
   * Starts reading the run's input when this process has not cached it, without waiting: a job
   * about to claim a step asks for it in the same round trip as its claim's own first read (a
   * run another process started), so the handler does not wait a round trip for it after the
   * claim. A read that fails, or is not needed (the claim was a no-op), costs nothing more.
   */
  prefetch(runId: string): void {
    if (this.inputs.has(runId) || this.reading.has(runId)) return
    const p = this.load(runId)
    p.catch(() => {}) // `get` reads again
    this.reading.set(runId, p)
    const done = () => {
      if (this.reading.get(runId) === p) this.reading.delete(runId)
    }
    p.then(done, done)
  }

  /** Caches a run's input, taken from its stored `flow.started` record. */
  note(runId: string, input: unknown): void {
    if (this.inputs.size >= MAX_INPUTS && !this.inputs.has(runId)) this.inputs.delete(this.inputs.keys().next().value as string)
    this.inputs.set(runId, input)
  }

  /** Reads the run's input from its first event, and caches it. */
  private async load(runId: string): Promise<unknown> {
    const [first] = await this.store.read(runId, { limit: 1 })
    if (first?.kind !== 'flow.started') throw new Error(`Run ${runId} has no flow.started event to take its input from.`)
    const input = (first.data as { input?: unknown } | null)?.input ?? null
    this.note(runId, input)
    return input
  }
}
