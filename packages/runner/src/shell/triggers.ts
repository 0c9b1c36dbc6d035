import type { TriggerReply } from '../machine/index.js'
import { jobIds } from '../machine/keys.js'
import type { RunDoc } from '../machine/runDoc.js'
import { apply } from './apply.js'
import { type Fallback, queueFallback } from './fallbackJob.js'
import { newId } from './newId.js'
import type { Shell } from './shell.js'

/**
 * How long after a trigger's resolve its `trigger` job comes, in ms: the resolve removes it once
 * its write and its resume job are done (a few ms), so it only comes when the process died between.
 */
export const TRIGGER_FINISH_AFTER_MS = 5_000

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

/**
 * Queues the `trigger` job ({@link TRIGGER_FINISH_AFTER_MS} ahead) of a resolve of `triggerId`
 * (run `runId`), before its write: should the process die between that write and the resume job
 * it queues, the job queues that resume again (see {@link finishResolve}); `done()` removes it.
 *
 * @example
 * ```ts
 * const finish = await queueResolveFinish(shell, runId, triggerId)
 * await shell.triggers.add(runId, ask)
 * await finish.done()
 * ```
 */
export function queueResolveFinish(shell: Shell, runId: string, triggerId: string): Promise<Fallback> {
  return queueFallback(
    shell,
    {
      id: jobIds.trigger(runId, newId()),
      name: 'trigger',
      data: { runId, step: '', trigger: triggerId },
      delayMs: TRIGGER_FINISH_AFTER_MS,
    },
    `resolveTrigger("${triggerId}")`,
  )
}

/**
 * A `trigger` job: the resolve that queued it may have died after its write, before the resume
 * job of the trigger's step was queued. A trigger the run's document shows resolved is resolved
 * again, which conflicts (nothing changes) and queues that resume again (the same job: never
 * doubled). A trigger still pending is left as it is: that resolve wrote nothing, and its caller
 * heard so (or heard nothing, and resolves again).
 */
export async function finishResolve(shell: Shell, runId: string, triggerId: string): Promise<void> {
  if (!resolved(await shell.states.read(runId), triggerId)) return
  await shell.triggers.add(runId, { triggerId, value: undefined })
}

/** True when the running run's trigger `triggerId` is resolved. */
function resolved(doc: RunDoc | null, triggerId: string): boolean {
  if (doc?.status !== 'running') return false
  return Object.values(doc.steps).some((s) => s.records.some((r) => r.t === 'trigger' && r.id === triggerId && r.state === 'resolved'))
}
