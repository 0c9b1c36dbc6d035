import { isRepeatedAppend } from '@leanflow/core'
import type { Shell } from '../shell/shell.js'

/** How many of the run's last events are looked through for the input its log shows. */
const TAIL = 50

/**
 * Logs the input a debounce window settled on (the store's last call) when the run's log shows
 * another: calls from several processes fold in the store's order, but their `flow.debounced`
 * events are appended by each caller, in whatever order those land, so the last one logged may
 * be an earlier call's. The run runs with the settled input; this `flow.debounced` (keyed: once)
 * makes its log, and every state reduced from it, say so too.
 */
export async function logSettledInput(shell: Shell, runId: string, input: unknown, now: number): Promise<void> {
  const tail = await shell.store.read(runId, { direction: 'backward', limit: TAIL })
  const shown = tail.find((e) => e.kind === 'flow.debounced' || e.kind === 'flow.started')
  const logged =
    shown?.kind === 'flow.started' ? (shown.data as { input?: unknown } | null)?.input : (shown?.data as { input?: unknown } | null)?.input
  if (shown && JSON.stringify(logged ?? null) === JSON.stringify(input ?? null)) return
  const event = { kind: 'flow.debounced', flow: runId, data: { input, until: new Date(now).toISOString() } }
  const record = await shell.store.append(runId, event, { idempotencyKey: 'fd~settled', after: 'fs' })
  if (!isRepeatedAppend(record)) shell.observers.appended(record)
}
