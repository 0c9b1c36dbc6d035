import type { EventRecord, FlowState, StepState } from '@leanflow/core'
import { formatDuration, formatTime, json } from './format.js'
import { hrefRun } from './route.js'

/** One step event, as the timeline shows it. */
interface Mark {
  id: string
  label: string
  cls: string
  title: string
}

const ts = (e: EventRecord) => formatTime(e.ts)

/** What a step event adds to its step's history: attempts, failures and retries, awaits and resumes. */
function markOf(e: EventRecord): Mark | undefined {
  const d = (e.data ?? {}) as Record<string, unknown>
  const attempt = e.meta?.attempt
  const n = attempt ? ` #${attempt}` : ''
  switch (e.kind) {
    case 'step.queued':
      return { id: e.id, label: 'queued', cls: 'queued', title: ts(e) }
    case 'step.started':
      return { id: e.id, label: `${d.recovered ? 'recovered' : 'started'}${n}`, cls: 'running', title: ts(e) }
    case 'step.failed':
      return {
        id: e.id,
        label: `failed${n}${d.willRetry ? ', retries' : ''}`,
        cls: d.willRetry ? 'retrying' : 'failed',
        title: `${ts(e)} ${String(d.error ?? '')}`,
      }
    case 'step.retry':
      return { id: e.id, label: 'retry', cls: 'retrying', title: ts(e) }
    case 'step.await.time':
      return { id: e.id, label: 'awaits time', cls: 'awaiting', title: `${ts(e)} until ${String(d.resumeAt ?? '')}` }
    case 'step.await.event':
      return { id: e.id, label: `awaits ${String(d.eventKind ?? 'event')}`, cls: 'awaiting', title: ts(e) }
    case 'step.await.trigger':
      return { id: e.id, label: 'awaits trigger', cls: 'awaiting', title: `${ts(e)} ${String(d.triggerId ?? '')}` }
    case 'step.await.run':
      return { id: e.id, label: `invokes ${String(d.flow ?? 'run')}`, cls: 'awaiting', title: `${ts(e)} ${String(d.childRunId ?? '')}` }
    case 'step.resumed':
      return { id: e.id, label: 'resumed', cls: 'running', title: ts(e) }
    case 'step.await.timeout':
      return { id: e.id, label: 'await timed out', cls: 'failed', title: ts(e) }
    case 'step.completed':
      return { id: e.id, label: 'completed', cls: 'completed', title: ts(e) }
    default:
      return undefined
  }
}

/** The detail of a step's current status: its await, its retry time, its error or result. */
function detailOf(s: StepState): string {
  const a = s.awaiting
  if (s.status === 'awaiting' && a) {
    const all = s.pending && s.pending.length > 1 ? ` (+${s.pending.length - 1} more)` : ''
    if (a.type === 'time') return `until ${formatTime(a.until)}${all}`
    if (a.type === 'event') return `event ${a.eventKind ?? ''}${all}`
    if (a.type === 'trigger') return `trigger ${a.triggerId ?? ''}${all}`
    if (a.type === 'run') return `child run ${a.childRunId ?? ''}${all}`
  }
  if (s.status === 'retrying' && s.nextRetryAt) return `next attempt at ${formatTime(s.nextRetryAt)}${s.error ? `: ${s.error}` : ''}`
  if (s.status === 'queued' && s.queued) return `waits for ${s.queued.reason}${s.queued.key ? ` (key ${s.queued.key})` : ''}`
  if (s.error) return s.error
  if (s.result !== undefined) return `→ ${json(s.result).replace(/\s+/g, ' ').slice(0, 120)}`
  return ''
}

/**
 * One row per step (`data-testid="step-<name>"`, its status in `data-status`): status, attempts,
 * its history of events, a bar of when it ran within the run, and what it waits for or returned.
 */
export function StepTimeline({ state, events, now }: { state: FlowState; events: readonly EventRecord[]; now: number }) {
  const marks = new Map<string, Mark[]>()
  for (const e of events) {
    if (!e.step) continue
    const m = markOf(e)
    if (m) marks.set(e.step, [...(marks.get(e.step) ?? []), m])
  }
  const t0 = state.startedAt ? Date.parse(state.startedAt) : now
  const t1 = Math.max(state.completedAt ? Date.parse(state.completedAt) : now, t0 + 1)
  const pct = (t: number) => `${Math.min(100, Math.max(0, ((t - t0) / (t1 - t0)) * 100)).toFixed(2)}%`
  return (
    <table class="timeline" data-testid="timeline">
      <thead>
        <tr>
          <th scope="col">step</th>
          <th scope="col">status</th>
          <th scope="col">attempt</th>
          <th scope="col">history</th>
          <th scope="col" class="barcol">
            when
          </th>
          <th scope="col">detail</th>
        </tr>
      </thead>
      <tbody>
        {Object.values(state.steps).map((s) => {
          const start = s.startedAt ? Date.parse(s.startedAt) : undefined
          const end = s.completedAt ? Date.parse(s.completedAt) : now
          const child = s.status === 'awaiting' && s.awaiting?.type === 'run' ? s.awaiting.childRunId : undefined
          return (
            <tr key={s.name} id={`step-row-${s.name}`} data-testid={`step-${s.name}`} data-status={s.status}>
              <th scope="row" class="mono">
                {s.name}
                {s.copied && <span class="tag">copied</span>}
              </th>
              <td>
                <span class={`badge s-${s.status}`}>{s.status}</span>
              </td>
              <td class="num" data-testid="attempt">
                {s.attempt > 0 ? `#${s.attempt}` : ''}
                {s.recoveries ? ` (${s.recoveries} recovered)` : ''}
              </td>
              <td class="history">
                {(marks.get(s.name) ?? []).map((m) => (
                  <span key={m.id} class={`mark s-${m.cls}`} title={m.title}>
                    {m.label}
                  </span>
                ))}
              </td>
              <td class="barcol">
                {start !== undefined && (
                  <div class="track" title={`${formatTime(s.startedAt)} · ${formatDuration(s.duration ?? end - start)}`}>
                    <div class={`bar s-${s.status}`} style={{ left: pct(start), width: `max(2px, calc(${pct(end)} - ${pct(start)}))` }} />
                  </div>
                )}
              </td>
              <td class="detail">
                {detailOf(s)}
                {child && (
                  <>
                    {' '}
                    <a href={hrefRun(child)}>open</a>
                  </>
                )}
              </td>
            </tr>
          )
        })}
      </tbody>
    </table>
  )
}
