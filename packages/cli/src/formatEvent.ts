import type { EventRecord } from '@leanflow/core'
import type { Colors } from './colors.js'
import { clockOf, formatDuration, printable, shortJson } from './format.js'

type Data = Record<string, unknown>
const str = (v: unknown): string => (typeof v === 'string' ? printable(v) : v === undefined ? '' : shortJson(v, 60))
const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined)

/** The short text of an event's data, by kind: what an operator wants on one line. */
export function summarize(e: EventRecord): string {
  const d = (typeof e.data === 'object' && e.data !== null ? e.data : {}) as Data
  const attempt = typeof e.meta?.attempt === 'number' ? `attempt ${e.meta.attempt}` : ''
  switch (e.kind) {
    case 'flow.started':
      return [str(d.name), d.input === undefined ? '' : `input ${shortJson(d.input, 60)}`].filter(Boolean).join('  ')
    case 'flow.completed':
      return [`in ${formatDuration(num(d.duration))}`, d.result === undefined ? '' : `result ${shortJson(d.result, 60)}`]
        .filter(Boolean)
        .join('  ')
    case 'flow.failed':
      return `${str(d.error)}  after ${formatDuration(num(d.duration))}`
    case 'flow.canceled':
      return d.reason === undefined ? '' : str(d.reason)
    case 'flow.queued':
    case 'step.queued':
      return [str(d.reason), keyOf(d), typeof d.until === 'string' ? `until ${d.until}` : ''].filter(Boolean).join('  ')
    case 'flow.debounced':
      return [d.input === undefined ? '' : `input ${shortJson(d.input, 60)}`, typeof d.until === 'string' ? `until ${d.until}` : '']
        .filter(Boolean)
        .join('  ')
    case 'step.started':
      return [attempt, d.recovered === true ? '(recovered)' : ''].filter(Boolean).join(' ')
    case 'step.completed':
      return [`in ${formatDuration(num(d.duration))}`, d.result === undefined ? '' : `result ${shortJson(d.result, 50)}`]
        .filter(Boolean)
        .join('  ')
    case 'step.failed':
      return `${str(d.error)}${d.willRetry === true ? `  (retry${typeof d.nextRetryAt === 'string' ? ` at ${clockOf(d.nextRetryAt)}` : ''})` : '  (for good)'}`
    case 'step.retry':
      return [attempt, typeof d.delayMs === 'number' ? `in ${formatDuration(d.delayMs)}` : '', str(d.reason)].filter(Boolean).join('  ')
    case 'step.await.time':
      return `until ${str(d.resumeAt)}`
    case 'step.await.event':
      return [str(d.eventKind), d.match === undefined ? '' : `match ${shortJson(d.match, 50)}`, timeout(d)].filter(Boolean).join('  ')
    case 'step.await.trigger':
      return [`trigger ${str(d.triggerId)}`, d.triggerType === undefined ? '' : `(${str(d.triggerType)})`, timeout(d)]
        .filter(Boolean)
        .join(' ')
    case 'step.await.run':
      return [`child ${str(d.childRunId)}`, d.flow === undefined ? '' : `(${str(d.flow)})`, timeout(d)].filter(Boolean).join(' ')
    case 'step.resumed':
      // reason already names the await ('trigger resolved'); else say which await it was
      return [str(d.reason) || str(d.awaitType), `after ${formatDuration(num(d.awaitDuration))}`].filter(Boolean).join('  ')
    case 'step.await.timeout':
      return `${str(d.awaitType)} timed out`
    case 'log':
      return [str(d.msg), d.fields === undefined ? '' : shortJson(d.fields, 60)].filter(Boolean).join('  ')
    case 'state.set':
      return `${str(d.key)} = ${shortJson(d.value, 60)}`
    default:
      return shortJson(e.data, 80)
  }
}

const timeout = (d: Data) => (typeof d.timeoutAt === 'string' ? `times out ${d.timeoutAt}` : '')
const keyOf = (d: Data) => (typeof d.key === 'string' ? `key ${d.key}` : '')

/** The color of an event's kind. */
function paintKind(e: EventRecord, c: Colors): (s: string) => string {
  const d = (e.data ?? {}) as Data
  if (e.kind === 'flow.completed' || e.kind === 'step.completed') return c.green
  if (e.kind === 'flow.failed') return c.red
  if (e.kind === 'step.failed') return d.willRetry === true ? c.yellow : c.red
  if (e.kind === 'flow.canceled') return c.magenta
  if (e.kind === 'step.retry' || e.kind === 'step.await.timeout') return c.yellow
  if (e.kind === 'flow.queued' || e.kind === 'flow.debounced' || e.kind === 'step.queued') return c.gray
  if (e.kind.startsWith('step.await') || e.kind === 'step.resumed') return c.cyan
  if (e.kind === 'flow.started' || e.kind === 'step.started') return c.blue
  if (e.kind === 'log') return d.level === 'error' ? c.red : d.level === 'warn' ? c.yellow : d.level === 'debug' ? c.gray : (s) => s
  if (e.kind === 'state.set') return c.gray
  return c.bold
}

/** One event as one line: time, kind, step, short data (colored when `c` colors). */
export function formatEvent(e: EventRecord, c: Colors): string {
  const kind = e.kind === 'log' ? `log.${str((e.data as Data | null)?.level) || 'info'}` : e.kind
  const paint = paintKind(e, c)
  return [c.dim(clockOf(e.ts)), paint(kind.padEnd(18)), c.bold((e.step ?? '').padEnd(12)), summarize(e)].join(' ').trimEnd()
}
