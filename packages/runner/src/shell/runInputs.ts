import type { StreamStore } from '@leanflow/core'

const MAX_INPUTS = 1000

/** Each run's input, from its `flow.started` event (cached: it never changes). Bounded. */
export class RunInputs {
  private readonly inputs = new Map<string, unknown>()

  constructor(private readonly store: Pick<StreamStore, 'read'>) {}

  /** A copy of the run's input: a handler that mutates its input changes no other step's view. */
  async get(runId: string): Promise<unknown> {
    if (this.inputs.has(runId)) return structuredClone(this.inputs.get(runId))
    const [first] = await this.store.read(runId, { limit: 1 })
    if (first?.kind !== 'flow.started') throw new Error(`Run ${runId} has no flow.started event to take its input from.`)
    const input = (first.data as { input?: unknown } | null)?.input ?? null
    this.note(runId, input)
    return structuredClone(input)
  }

  /** Caches a run's input, taken from its stored `flow.started` record. */
  note(runId: string, input: unknown): void {
    if (this.inputs.size >= MAX_INPUTS && !this.inputs.has(runId)) this.inputs.delete(this.inputs.keys().next().value as string)
    this.inputs.set(runId, input)
  }
}
