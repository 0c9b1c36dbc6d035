// The one transition of the reducer: reduceFlow folds a log with it, applyEvent applies it once.

import type { EventRecord } from '../events.js'
import { fieldsOf } from './reduceData.js'
import { extend, type Parts } from './reduceParts.js'
import { isTerminalStatus, nextRun, settleStatus } from './reduceRun.js'
import { logEntry, reduceSteps, type Steps } from './reduceStep.js'

/**
 * The parts after `e` (`parts` itself when `e` changes none of them); the steps change in
 * `steps`. The run's status is settled against the steps whenever either changed.
 */
export function foldEvent(parts: Parts, steps: Steps, e: EventRecord): Parts {
  const prev = parts.run
  const run = nextRun(prev, e)
  const kind = e.kind
  const ended = isTerminalStatus(run.status)
  steps.dirty = false
  if (e.step !== undefined || kind === 'flow.started' || (ended && run !== prev && !isTerminalStatus(prev.status)))
    reduceSteps(steps, e, prev.status === 'pending', ended)
  let logs = parts.logs
  let kv = parts.kv
  if (kind === 'log') logs = extend(logs, undefined, logEntry(e))
  else if (kind === 'state.set') {
    const d = fieldsOf(e.data)
    if (typeof d.key === 'string') kv = extend(kv, d.key, d.value)
  }
  let settled = run
  if (run !== prev || steps.dirty) {
    const status = settleStatus(run.status, steps.map)
    if (status !== run.status) settled = { ...run, status }
  }
  return settled === prev && logs === parts.logs && kv === parts.kv ? parts : { run: settled, logs, kv }
}
