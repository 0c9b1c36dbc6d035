// Renders one run's reduced state: header (and, for a child run, its parent), why it is queued,
// action buttons, the step timeline (with the child runs each step invoked), logs and state.
import type { FlowState, QueueWait, StepAwait, StepState } from '@leanflow/core'
import { childLinks, type OpenRun, type RunChildren, renderParent } from './childrenView.js'
import { $, countdown, fmtMs, fmtTime, h, json } from './dom.js'

const TERMINAL = new Set(['completed', 'failed', 'canceled'])

/** What the action buttons act on, derived from the state. */
export interface Pending {
  orderId?: string
  paymentStep?: string
  triggerId?: string
  /** The step a failed run failed in: the page offers to rerun from it. */
  failedStep?: string
  live: boolean
}

export function pendingActions(s: FlowState): Pending {
  const input = s.input as { orderId?: string } | undefined
  const out: Pending = { orderId: input?.orderId, live: !TERMINAL.has(s.status) }
  for (const [name, step] of Object.entries(s.steps)) {
    if (s.status === 'failed' && step.status === 'failed') out.failedStep = name
    if (step.status !== 'awaiting') continue
    for (const a of step.pending ?? (step.awaiting ? [step.awaiting] : [])) {
      if (a.type === 'event' && a.eventKind === 'payment.confirmed') out.paymentStep = name
      if (a.type === 'trigger' && a.triggerId) out.triggerId = a.triggerId
    }
  }
  return out
}

export function curlLine(origin: string, triggerId: string): string {
  return `curl -X POST ${origin}/flows/triggers/${triggerId} -H 'content-type: application/json' -d '{"approved":true}'`
}

/**
 * Why a queued run waits, in words, from the reduced state (`state.queued`, set by `flow.queued`
 * and `flow.debounced`), e.g. "queued — waiting for a concurrency slot (key c-1)".
 */
export function queueNote(q: QueueWait, now: number): string {
  const key = q.key ? ` (key ${q.key})` : ''
  if (q.reason === 'concurrency') return `queued — waiting for a concurrency slot${key}: it starts when a run holding one ends`
  if (q.reason === 'rateLimit') return `queued — rate limited${key}: admitted ${countdown(q.until, now) || 'when the window frees'}`
  return `queued — debounced${key}: starts ${countdown(q.until, now)} unless another call comes first`
}

function renderQueued(s: FlowState, now: number): void {
  const note = $('queue-note')
  const q = s.status === 'queued' ? s.queued : undefined
  note.hidden = !q
  note.textContent = q ? queueNote(q, now) : ''
  if (q) note.dataset.reason = q.reason
  else delete note.dataset.reason
}

/**
 * Renders the run `runId` from its state `s`; `children` are the runs its steps invoked, `open`
 * follows a link to another run (a child, or the parent).
 */
export function renderRun(runId: string, s: FlowState, now: number, children: RunChildren, open: OpenRun): void {
  $('run-name').textContent = s.name ?? 'run'
  $('run-id').textContent = runId
  const meta = [s.startedAt && `started ${fmtTime(s.startedAt)}`, s.duration !== undefined && `took ${fmtMs(s.duration)}`]
  if (s.schedule) meta.push(`tick ${fmtTime(s.schedule.tick)} of schedule ${s.schedule.id}`)
  if (s.children) meta.push(`${s.children} child run${s.children === 1 ? '' : 's'}`)
  if (s.cancelReason) meta.push(`canceled: ${s.cancelReason}`)
  if (s.status === 'failed' && s.error !== undefined) meta.push(`error: ${s.error}`)
  if (s.rerunOf) meta.push(`rerun of ${s.rerunOf.runId.slice(0, 10)}${s.rerunOf.from ? ` from ${s.rerunOf.from}` : ''}`)
  $('run-meta').textContent = meta.filter(Boolean).join(' · ')
  const badge = $('run-status')
  badge.textContent = s.status
  badge.dataset.status = s.status
  renderParent($('parent-note'), s, open)
  renderQueued(s, now)

  const p = pendingActions(s)
  ;($('pay') as HTMLButtonElement).disabled = !p.live || !p.paymentStep
  ;($('approve') as HTMLButtonElement).disabled = !p.live || !p.triggerId
  ;($('cancel') as HTMLButtonElement).disabled = !p.live
  const rerun = $('rerun') as HTMLButtonElement
  rerun.hidden = p.failedStep === undefined
  rerun.textContent = `Rerun from ${p.failedStep ?? 'failed step'}`
  const curl = $('curl')
  curl.hidden = !p.live || !p.triggerId
  if (p.triggerId) curl.textContent = `# approve from a shell:\n${curlLine(location.origin, p.triggerId)}`

  renderTimeline(s, now, children, open)
  renderLogs(s)
  $('state').textContent = json(s.state)
  $('result').textContent = s.status === 'completed' ? json(s.result) : s.status === 'failed' ? (s.error ?? 'failed') : '—'
}

function renderTimeline(s: FlowState, now: number, children: RunChildren, open: OpenRun): void {
  const box = $('timeline')
  const rows = Object.entries(s.steps).map(([name, step]) => {
    // the reducer ends every step still in flight as `canceled` when its run ends
    const status = step.status
    return h(
      'div',
      { class: 'row step', 'data-step': name, 'data-status': status },
      h('span', { class: 'name' }, name, step.needs?.length ? h('span', { class: 'needs' }, `needs ${step.needs.join(', ')}`) : null),
      h('span', {}, h('span', { class: 'badge', 'data-status': status }, status)),
      h('span', { class: 'attempt' }, step.attempt ? `#${step.attempt}` : ''),
      h(
        'span',
        { class: 'detail' },
        ...(status === 'canceled' ? [`stopped when the run was ${s.status} `] : detail(step, now)),
        ...childLinks(children, name, open),
      ),
      h('span', { class: 'duration' }, fmtMs(step.duration)),
    )
  })
  box.replaceChildren(box.firstElementChild as Element, ...rows)
}

/** What an awaiting step waits for: each pending await, and its invoked child runs counted as one entry. */
function awaits(step: StepState, now: number): Array<Node | string> {
  const pending: readonly StepAwait[] = step.pending ?? (step.awaiting ? [step.awaiting] : [])
  const out: Array<Node | string> = []
  const runs = pending.filter((a) => a.type === 'run')
  for (const a of pending) {
    if (a.type === 'run') continue
    out.push(h('span', { class: 'await-type' }, a.type))
    if (a.type === 'time') out.push(`resumes ${countdown(a.until, now)}`)
    else if (a.type === 'event') out.push(a.eventKind ?? '')
    else if (a.type === 'trigger') out.push(a.triggerId ?? '')
    if (a.type !== 'time' && a.until) out.push(` (times out ${countdown(a.until, now)})`)
    out.push(' ')
  }
  if (runs.length > 0) out.push(h('span', { class: 'await-type' }, 'run'), `${runs.length} child run${runs.length === 1 ? '' : 's'} `)
  return out
}

function detail(step: StepState, now: number): Array<Node | string> {
  const out: Array<Node | string> = []
  if (step.status === 'awaiting') out.push(...awaits(step, now))
  if (step.status === 'queued')
    out.push(`waiting for a slot of the step's concurrency limit${step.queued?.key ? ` (key ${step.queued.key})` : ''}`)
  if (step.status === 'retrying') out.push(`↻ retry ${countdown(step.nextRetryAt, now)}`)
  if (step.error !== undefined && (step.status === 'retrying' || step.status === 'failed')) {
    out.push(h('span', { class: 'error' }, step.error))
  }
  if (step.recoveries) {
    // a worker died mid-step and another took it over: code outside ctx.do may have run twice
    out.push(h('span', { class: 'retried' }, `⚠ taken over ${step.recoveries}× after a worker died `))
  }
  // copied by a rerun from the run it reruns: it did not run in this one
  if (step.copied) out.push(h('span', { class: 'copied' }, '⎘ copied from the run it reruns '))
  if (step.status === 'completed') {
    if (step.attempt > 1)
      out.push(h('span', { class: 'retried' }, `↻ ${step.attempt - 1} failed attempt${step.attempt > 2 ? 's' : ''}, then `))
    if (step.result !== undefined) out.push(h('code', { class: 'result' }, `→ ${short(step.result)}`))
  }
  return out
}

function short(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v)
  return s.length > 64 ? `${s.slice(0, 61)}…` : s
}

function renderLogs(s: FlowState): void {
  const list = $('logs')
  const logs = s.logs.slice(-200)
  list.replaceChildren(
    ...logs.map((l) =>
      h(
        'li',
        { class: `lvl-${l.level}` },
        h('span', {}, fmtTime(l.ts)),
        h('span', {}, l.level),
        h('span', {}, l.step ?? 'run'),
        h('span', {}, l.msg, l.fields ? h('span', { class: 'fields' }, ` ${JSON.stringify(l.fields)}`) : null),
      ),
    ),
  )
  list.scrollTop = list.scrollHeight
}
