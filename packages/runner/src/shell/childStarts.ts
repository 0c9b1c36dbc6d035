import { isLeanflowError, LeanflowError } from '@leanflow/core'
import type { ChildStart } from '../machine/commands.js'
import type { Shell } from './shell.js'

/**
 * A late child's start that this process cannot make (a cancel from a process that does not hold
 * the child's flow or version, or, for a record written before children were pinned to a version, an input its highest version's schema refuses) is skipped, and the cancel (or the
 * step's end) goes on: silently when the child exists (it was started: the usual case, a cancel
 * from a process that holds no flows, such as the CLI), else reported to `onError`. A store
 * failure is thrown (the whole carry is retried).
 */
export function lateOnly(shell: Shell, c: ChildStart): (err: unknown) => Promise<void> {
  return async (err) => {
    if (!c.late && c.version !== undefined && isLeanflowError(err, 'FLOW_NOT_FOUND')) unheldChild(shell, c)
    if (!c.late || !isLeanflowError(err) || err.code === 'STORE_UNAVAILABLE' || err.code === 'STORE_FULL') throw err
    if ((await shell.states.read(c.runId)) !== null) return
    shell.onError(notCreated(c, err))
  }
}

/** Why late child `c` was not created, naming it, its parent and what (if anything) to do. */
function notCreated(c: ChildStart, err: LeanflowError): LeanflowError {
  const flow = c.version === undefined ? `flow "${c.flow}"` : `version ${c.version} of flow "${c.flow}"`
  const why = err.code === 'FLOW_NOT_FOUND' ? `this process does not hold ${flow}` : err.message
  return new LeanflowError(
    err.code,
    `Child run "${c.runId}" (flow "${c.flow}") of run "${c.parent.runId}" was not created: ${why}. Its parent's await of it is closed (canceled or timed out), so nothing waits on it; only the parent's log names it and it has no log of its own. Nothing needs doing.`,
    { cause: err },
  )
}

/**
 * A child to start on a version this worker does not hold (the one whose schema checked its input
 * at the invoke): the parent's job goes back to the queue for a worker that holds it. Said to
 * `onError` once per flow version and process, as a run's own hand-back is (a queue such as
 * BullMQ keeps a job's failures to itself).
 */
function unheldChild(shell: Shell, c: ChildStart): void {
  const key = `${c.flow}@${c.version}`
  if (shell.unheld.has(key)) return
  shell.unheld.add(key)
  shell.onError(
    new LeanflowError(
      'FLOW_NOT_FOUND',
      `Child run "${c.runId}" of run "${c.parent.runId}" starts on version ${c.version} of flow "${c.flow}" (the version whose schema checked its input at the invoke), which this worker does not hold: the parent's job goes back to the queue for a worker that does. Keep a worker with version ${c.version} deployed until its runs drain.`,
    ),
  )
}
