import { assertName } from '../names.js'
import type { ChildOutcomeEntry, PutChildOutcomeOptions, PutChildOutcomeResult } from '../runStateStore.js'

/** One parent's outbox: its children's outcomes (JSON), who is on the way to fold them, when they were last taken. */
interface Outbox {
  outcomes: Map<string, string>
  /** The child whose put answered `tell` since the last take. */
  teller?: string
  takenAt?: number
  expiresAt: number
}

/**
 * The child-outcome outbox of the memory run state store (`putChildOutcome`,
 * `takeChildOutcomes`, `dropChildOutcomes`), each call synchronous, so atomic. `hasParent`
 * says whether the parent's document is live; an outbox lives `retentionMs` after its last put.
 */
export function memoryOutbox(now: () => number, retentionMs: number, hasParent: (runId: string) => boolean) {
  const boxes = new Map<string, Outbox>()
  const live = (parent: string): Outbox | undefined => {
    const box = boxes.get(parent)
    if (box && box.expiresAt <= now()) boxes.delete(parent)
    return box && box.expiresAt > now() ? box : undefined
  }
  const take = (box: Outbox): ChildOutcomeEntry[] => {
    box.teller = undefined
    box.takenAt = now()
    return [...box.outcomes].map(([childRunId, json]) => ({ childRunId, outcome: JSON.parse(json) as unknown }))
  }
  return {
    async putChildOutcome(
      parent: string,
      child: string,
      outcome: unknown,
      opts: PutChildOutcomeOptions = {},
    ): Promise<PutChildOutcomeResult> {
      assertName(child, 'run id')
      if (!hasParent(parent)) return { tell: false }
      const box = live(parent) ?? { outcomes: new Map<string, string>(), expiresAt: 0 }
      boxes.set(parent, box)
      box.expiresAt = now() + retentionMs
      if (!box.outcomes.has(child)) box.outcomes.set(child, JSON.stringify(outcome ?? null))
      if (box.teller !== undefined && box.teller !== child) return { tell: false }
      const res: PutChildOutcomeResult =
        box.takenAt === undefined ? { tell: true } : { tell: true, sinceTakeMs: Math.max(0, now() - box.takenAt) }
      box.teller = child
      if (opts.take) res.taken = take(box)
      return res
    },
    async takeChildOutcomes(parent: string): Promise<ChildOutcomeEntry[]> {
      const box = live(parent)
      return box ? take(box) : []
    },
    async dropChildOutcomes(parent: string, children: readonly string[]): Promise<void> {
      const box = live(parent)
      for (const child of children) box?.outcomes.delete(child)
    },
  }
}
