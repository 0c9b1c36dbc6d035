import type { AwaitJobReply } from '../machine/index.js'
import type { RunDoc } from '../machine/runDoc.js'
import { apply } from './apply.js'
import type { Shell } from './shell.js'

/**
 * A `time` or `timeout` job of a run, asked of the machine; `reply` and `doc` (the document as
 * written or read, its own copy) are set once the write that carried it is stored.
 */
export interface TimerAsk {
  job: 'time' | 'timeout'
  step: string
  pos: number
  jobId: string
  lease: string
  reply?: AwaitJobReply
  doc?: RunDoc | null
}

/**
 * Decides the `time` / `timeout` jobs `asks` of run `runId` in one compare-and-set (the shell's
 * `timers` coalescer calls it with the jobs that came while one was in flight: 1,000 timers of a
 * step due at once cost a few reads and writes of the run, not one each), at the store clock's
 * now, and sets each ask's reply. Each job goes on only once this write (and its outputs) is stored.
 *
 * @example
 * ```ts
 * const ask: TimerAsk = { job: 'time', step: 'wait', pos: 0, jobId, lease: newId() }
 * await shell.timers.add(runId, ask) // ask.reply: claimed, early, noop, …
 * ```
 */
export async function decideTimers(shell: Shell, runId: string, asks: TimerAsk[]): Promise<void> {
  const now = await shell.clock.now()
  const jobs = asks.map(({ job, step, pos, jobId, lease }) => ({ job, step, pos, jobId, lease }))
  const { reply, doc } = await apply(shell, runId, { type: 'awaitJobs', jobs }, { now })
  let lent = false
  asks.forEach((a, i) => {
    a.reply = reply[i] ?? { kind: 'noop' }
    if (a.reply.kind === 'noop' || a.reply.kind === 'early' || a.reply.kind === 'timedOut') return
    // an execution or repair may change its document: each gets its own
    a.doc = lent || !doc ? structuredClone(doc) : doc
    lent = true
  })
}
