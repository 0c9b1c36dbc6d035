import { isLeanflowError } from '@leanflow/core'
import { keys } from '../machine/keys.js'
import { type Execution, orHandBack } from './execution.js'
import type { Shell } from './shell.js'

/**
 * The execution's own appends — `log`, `emit`, `state.set` — queued in call order and flushed
 * before any change of the step's state, each fenced by the execution's lease.
 */

/** Queues a user event; the promise settles once it is stored (or refused). */
export function queueUser(shell: Shell, ex: Execution, kind: string, data: unknown): Promise<void> {
  ex.check()
  const seq = ++ex.seq
  ex.batch.push({ kind, data, seq })
  ex.pending = ex.pending.then(() => drain(shell, ex))
  ex.pending.catch(() => {})
  return ex.pending
}

/** Waits for queued user appends; throws when the execution lost its lease or the run ended. */
export async function flushAndFence(shell: Shell, ex: Execution): Promise<void> {
  ex.pending = ex.pending.then(() => drain(shell, ex))
  await orHandBack(ex, () => ex.pending)
  ex.check()
}

/**
 * Appends the queued user events in call order, each fenced by the execution's lease: the store
 * refuses it atomically (nothing written) once the lease was taken over or the run ended.
 */
async function drain(shell: Shell, ex: Execution) {
  if (ex.batch.length === 0) return
  const items = ex.batch.splice(0)
  const fence = { key: ex.step, token: ex.lease }
  for (const it of items) {
    ex.check()
    try {
      const event = { kind: it.kind, flow: ex.runId, step: ex.step, data: it.data, meta: { attempt: ex.attempt } }
      const stored = await shell.store.append(ex.runId, event, { idempotencyKey: keys.user(ex.step, ex.attempt, it.seq), fence })
      shell.observers.appended(stored)
    } catch (err) {
      if (!isLeanflowError(err, 'NON_RETRIABLE')) throw err
      // fenced: tell a lost lease from an ended run (cancel, another step failed for good)
      const d = await shell.states.read(ex.runId).catch(() => null)
      throw ex.stop(d !== null && d.status === 'running' ? 'lease' : 'ended')
    }
  }
}
