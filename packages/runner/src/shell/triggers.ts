import type { TriggerReply } from '../machine/index.js'
import { apply } from './apply.js'
import type { Shell } from './shell.js'

/** A resolve of trigger `triggerId` with `value`; `reply` is set once the write that carried it is done. */
export interface TriggerAsk {
  triggerId: string
  value: unknown
  reply?: TriggerReply
}

/**
 * Resolves the triggers `asks` of run `runId` in one compare-and-set (the shell's `triggers`
 * coalescer calls it with the resolves that came while one was in flight: 1,000 triggers of a
 * step resolved at once do not contend for the run's document), and sets each ask's reply.
 *
 * @example
 * ```ts
 * const ask: TriggerAsk = { triggerId, value: { approved: true } }
 * await shell.triggers.add(runId, ask) // ask.reply: where it was, or null when unknown
 * ```
 */
export async function resolveTriggers(shell: Shell, runId: string, asks: TriggerAsk[]): Promise<void> {
  const triggers = asks.map(({ triggerId, value }) => ({ triggerId, value }))
  const { reply } = await apply(shell, runId, { type: 'resolveTriggers', triggers }, { fresh: true })
  asks.forEach((a, i) => {
    a.reply = reply[i] ?? null
  })
}
