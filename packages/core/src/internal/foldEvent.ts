// The one transition of the reducer: reduceFlow folds a log with it, applyEvent applies it once.

import type { EventRecord } from '../events.js'
import { fieldsOf } from './reduceData.js'
import { extend, type Parts } from './reduceParts.js'
import { isTerminalStatus, nextRun, settleStatus } from './reduceRun.js'
import { logEntry, reduceSteps } from './reduceStep.js'

/**
 * The parts after `e`, new objects wherever they change (`parts` itself when `e` changes none
 * of them). The run's status is settled against the steps whenever either changed.
 */
export function foldEvent(parts: Parts, e: EventRecord): Parts {
  const prev = parts.run
  const run = nextRun(prev, e)
  const kind = e.kind
  const ended = isTerminalStatus(run.status)
  let steps = parts.steps
  if (e.step !== undefined || kind === 'flow.started' || (ended && run !== prev && !isTerminalStatus(prev.status)))
    steps = reduceSteps(steps, e, prev.status === 'pending', ended)
  let logs = parts.logs
  let kv = parts.kv
  if (kind === 'log') logs = extend(logs, undefined, logEntry(e))
  else if (kind === 'state.set') {
    const d = fieldsOf(e.data)
    if (typeof d.key === 'string') kv = extend(kv, d.key, d.value)
  }
  let settled = run
  if (run !== prev || steps !== parts.steps) {
    const status = settleStatus(run.status, steps)
    if (status !== run.status) settled = { ...run, status }
  }
  return settled === prev && logs === parts.logs && kv === parts.kv && steps === parts.steps ? parts : { run: settled, logs, kv, steps }
}
