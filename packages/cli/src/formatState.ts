import type { FlowState, QueueWait, StepState } from '@leanflow/core'
import type { Colors } from './colors.js'
import { formatDuration, formatTime, paintStatus, printable, shortJson, table } from './format.js'
import { awaitKey, publishHint } from './publishHint.js'

type Await = NonNullable<StepState['awaiting']>

/** One await, as a note: `trigger T1 (webhook), times out …`, `child R2 (invoice)`, `time until …`. */
function awaitNote(a: Await): string {
  const what =
    a.type === 'trigger'
      ? `trigger ${a.triggerId ?? '?'}${a.triggerType ? ` (${a.triggerType})` : ''}`
      : a.type === 'event'
        ? `event ${a.eventKind ?? '?'}`
        : a.type === 'run'
          ? `child ${a.childRunId ?? '?'}${a.flow ? ` (${a.flow})` : ''}`
          : 'time'
  return printable(`${what}${a.until ? `${a.type === 'time' ? ' until' : ', times out'} ${formatTime(a.until)}` : ''}`)
}

/** What a step waits for (every pending await, with parallel awaits), or when it retries: the table's last column. */
function noteOf(step: StepState, rerunOf: FlowState['rerunOf']): string {
  if (step.copied) return printable(`copied from ${rerunOf?.runId ?? 'the run this one reruns'}`)
  const a = step.awaiting
  if (step.status === 'awaiting' && a) {
    const all = step.pending && step.pending.length > 1 ? step.pending : [a]
    return all.length > 3 ? `${all.length} awaits: ${all.slice(0, 2).map(awaitNote).join('; ')}; …` : all.map(awaitNote).join('; ')
  }
  if (step.status === 'retrying' && step.nextRetryAt) return `next try ${formatTime(step.nextRetryAt)}`
  if (step.status === 'queued' && step.queued) return queueNote(step.queued)
  if (step.error) return printable(step.error)
  return ''
}

/** Why a run or step waits for admission: `concurrency (key t1) until 2026-…`. */
function queueNote(q: QueueWait): string {
  return printable(
    `${q.reason}${q.key === undefined ? '' : ` (key ${q.key})`}${q.until === undefined ? '' : ` until ${formatTime(q.until)}`}`,
  )
}

/** Elapsed time of a step: its duration once done, else since it started, until the run's end if it ended (a canceled step's time does not grow). */
function stepDuration(step: StepState, now: number, runEnd: string | undefined): string {
  if (step.duration !== undefined) return formatDuration(step.duration)
  if (step.startedAt === undefined) return '-'
  const end = step.completedAt ? Date.parse(step.completedAt) : runEnd ? Date.parse(runEnd) : now
  return formatDuration(end - Date.parse(step.startedAt))
}

/** The latest error of the run: its own, else the newest step error. */
function lastError(state: FlowState): string | undefined {
  if (state.error) return state.error
  const failed = Object.values(state.steps).filter((s) => s.error !== undefined)
  return failed.sort((a, b) => (b.completedAt ?? b.startedAt ?? '').localeCompare(a.completedAt ?? a.startedAt ?? ''))[0]?.error
}

/**
 * A run's reduced state as an operator reads it: the run (status, timings), one row per step
 * (status, attempts, duration, what it waits for), the pending awaits and the last error.
 * `matches` (from `eventMatches` of the run's events) fills in the data of each event await's
 * `leanflow publish`.
 */
export function formatState(
  runId: string,
  state: FlowState,
  c: Colors,
  now = Date.now(),
  matches: ReadonlyMap<string, unknown> = new Map(),
  flags = ' --bullmq',
): string {
  const out: string[] = []
  const label = (s: string) => c.dim(s.padEnd(10))
  out.push(`${c.bold('run')}       ${runId}  ${c.bold(state.name ?? '?')}  ${paintStatus(state.status, c)}`)
  out.push(`${label('started')}${formatTime(state.startedAt)}`)
  if (state.queued) out.push(`${label('queued')}${queueNote(state.queued)}`)
  if (state.completedAt) out.push(`${label('ended')}${formatTime(state.completedAt)}`)
  const duration =
    state.duration ??
    (state.startedAt ? (state.completedAt ? Date.parse(state.completedAt) : now) - Date.parse(state.startedAt) : undefined)
  out.push(`${label('duration')}${formatDuration(duration)}${state.completedAt ? '' : c.dim(' (so far)')}`)
  if (state.schedule) out.push(`${label('schedule')}${state.schedule.id} (tick ${formatTime(state.schedule.tick)})`)
  if (state.rerunOf)
    out.push(
      `${label('rerun of')}${printable(state.rerunOf.runId)}${state.rerunOf.from === undefined ? '' : printable(` (from ${state.rerunOf.from})`)}`,
    )
  if (state.input !== undefined) out.push(`${label('input')}${shortJson(state.input, 100)}`)
  if (state.result !== undefined) out.push(`${label('result')}${shortJson(state.result, 100)}`)
  if (state.cancelReason !== undefined) out.push(`${label('reason')}${printable(state.cancelReason)}`)
  const steps = Object.values(state.steps)
  if (steps.length > 0) {
    out.push('')
    out.push(
      table(
        ['step', 'status', 'attempts', 'duration', 'note'],
        steps.map((s) => [
          s.name,
          paintStatus(s.status, c),
          String(s.attempt) + (s.recoveries ? c.yellow(` (+${s.recoveries} recovered)`) : ''),
          stepDuration(s, now, state.completedAt),
          s.status === 'failed' || s.status === 'retrying' ? c.red(noteOf(s, state.rerunOf)) : noteOf(s, state.rerunOf),
        ]),
        c,
      ),
    )
  }
  const awaits = steps.filter((s) => s.status === 'awaiting' && s.awaiting)
  if (awaits.length > 0) {
    out.push('')
    out.push(c.bold('pending awaits'))
    for (const s of awaits) {
      // every pending await of the step (parallel awaits), each with how it ends
      for (const a of s.pending && s.pending.length > 0 ? s.pending : [s.awaiting as Await]) {
        const how =
          a.type === 'trigger'
            ? `leanflow resolve ${a.triggerId ?? '<triggerId>'} '<json>'${flags}`
            : a.type === 'event'
              ? publishHint(a.eventKind ?? '<kind>', matches.get(awaitKey(s.name, a.position)), flags)
              : a.type === 'run'
                ? `resumes when child ${a.childRunId ?? ''} ends (leanflow show ${a.childRunId ?? '<runId>'}${prefixFlag(flags)})`
                : `resumes by itself${a.until ? ` at ${formatTime(a.until)}` : ''}`
        out.push(`  ${c.cyan(s.name)}: ${awaitNote(a)}  ${c.dim(`→ ${how}`)}`)
      }
    }
  }
  const err = lastError(state)
  if (err !== undefined) {
    out.push('')
    out.push(`${c.red(c.bold('last error'))} ${printable(err)}`)
  }
  return out.join('\n')
}

/** The `--cluster` and `--prefix` of `flags` (as `queueFlags` wrote them, shell-quoted), for a `show` hint: '' for a plain Redis and the default prefix. */
function prefixFlag(flags: string): string {
  const cluster = / --cluster(?= |$)/.test(flags) ? ' --cluster' : ''
  return cluster + (/ --prefix (?:'(?:[^']|'\\'')*'|\S+)/.exec(flags)?.[0] ?? '')
}
