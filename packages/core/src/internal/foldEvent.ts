// The one transition of the reducer: reduceFlow folds a log with it, applyEvent applies it once.

import type { EventRecord } from '../events.js'
import { extend } from './chain.js'
import { fieldsOf } from './reduceData.js'
import type { Parts } from './reduceParts.js'
import { isTerminalStatus, nextRun, settleStatus } from './reduceRun.js'
import { logEntry, reduceSteps } from './reduceStep.js'

/**
 * The parts after `e`, new objects wherever they change. The run's status is settled against
 * the steps whenever either changed.
 */
export function foldEvent(parts: Parts, e: EventRecord): Parts {
  const prev = parts.run
  const d = fieldsOf(e.data)
  let run = nextRun(prev, e, d)
  const kind = e.kind
  const ended = isTerminalStatus(run.status)
  let { steps, logs, kv } = parts
  steps = reduceSteps(steps, e, d, prev.status === 'pending', ended)
  if (kind === 'log') logs = extend(logs, undefined, logEntry(e, d))
  else if (kind === 'state.set' && typeof d.key === 'string') kv = extend(kv, d.key, d.value)
  if (run !== prev || steps !== parts.steps) {
    const status = settleStatus(run.status, steps)
    if (status !== run.status) run = { ...run, status }
  }
  return { run, logs, kv, steps }
}
