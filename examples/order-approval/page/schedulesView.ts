// The schedules box: each schedule with its cadence, its next tick (a countdown), its last run (a
// link that opens the run) and Pause/Resume and Run now buttons. Rows are kept and updated in
// place, so a refresh never swaps a button under the pointer.
import type { ScheduleRow } from './api.js'
import { countdown, fmtTime, h } from './dom.js'

/** What the buttons and the last-run link do. */
export interface ScheduleActions {
  toggle(s: ScheduleRow): void
  trigger(s: ScheduleRow): void
  open(flow: string, runId: string): void
}

interface Row {
  li: HTMLLIElement
  s: ScheduleRow
}

const rows = new Map<string, Row>()

function cadence(s: ScheduleRow): string {
  if (s.every !== undefined) return `every ${s.every}`
  return `cron ${s.cron ?? '?'}${s.tz && s.tz !== 'UTC' ? ` (${s.tz})` : ''}`
}

function nextText(s: ScheduleRow, now: number): string {
  if (s.paused || s.nextRunAt === null) return 'paused: no next tick'
  return `next ${fmtTime(s.nextRunAt)} (${countdown(s.nextRunAt, now)})`
}

function lastRun(s: ScheduleRow, actions: ScheduleActions): Array<Node | string> {
  const last = s.lastRun
  if (!last) return ['no run yet']
  if (last.skipped || last.runId === undefined) return [`tick ${fmtTime(last.tick)} skipped (the last run was still active)`]
  const runId = last.runId
  const link = h(
    'a',
    { class: 'last-run', href: `#run=${encodeURIComponent(runId)}`, 'data-run': runId },
    h('code', {}, runId.slice(0, 10)),
  )
  link.onclick = (e) => {
    e.preventDefault()
    actions.open(s.flow, runId)
  }
  return ['last run ', link, ` (tick ${fmtTime(last.tick)})`]
}

function build(id: string, actions: ScheduleActions): HTMLLIElement {
  const toggle = h('button', { type: 'button', class: 'toggle' })
  const trigger = h('button', { type: 'button', class: 'trigger' }, 'Run now')
  toggle.onclick = () => {
    const row = rows.get(id)
    if (row) actions.toggle(row.s)
  }
  trigger.onclick = () => {
    const row = rows.get(id)
    if (row) actions.trigger(row.s)
  }
  return h(
    'li',
    { 'data-schedule': id },
    h('div', { class: 'sched-head' }, h('code', {}, id), h('span', { class: 'badge' })),
    h('div', { class: 'sched-cadence muted' }),
    h('div', { class: 'sched-next' }),
    h('div', { class: 'sched-last' }),
    h('div', { class: 'sched-actions' }, toggle, trigger),
  )
}

const part = (li: HTMLElement, cls: string) => li.querySelector(`.${cls}`) as HTMLElement

/** Shows `schedules` in `list`, keeping the rows of the ids it already shows. */
export function renderSchedules(list: HTMLElement, schedules: ScheduleRow[], actions: ScheduleActions, now: number): void {
  for (const id of [...rows.keys()]) if (!schedules.some((s) => s.id === id)) rows.delete(id)
  const lis = schedules.map((s) => {
    const row = rows.get(s.id) ?? { li: build(s.id, actions), s }
    row.s = s
    rows.set(s.id, row)
    const { li } = row
    li.dataset.paused = String(s.paused)
    const badge = part(li, 'badge')
    badge.textContent = s.paused ? 'paused' : 'active'
    badge.dataset.status = s.paused ? 'paused' : 'active'
    part(li, 'sched-cadence').textContent = `${s.flow} · ${cadence(s)}`
    part(li, 'sched-next').textContent = nextText(s, now)
    part(li, 'sched-last').replaceChildren(...lastRun(s, actions))
    ;(li.querySelector('button.toggle') as HTMLButtonElement).textContent = s.paused ? 'Resume' : 'Pause'
    return li
  })
  if (lis.length === 0) list.replaceChildren(h('li', { class: 'muted' }, 'no schedules'))
  else list.replaceChildren(...lis)
}

/** Updates the countdowns to the next ticks (between refreshes). */
export function tickSchedules(now: number): void {
  for (const { li, s } of rows.values()) part(li, 'sched-next').textContent = nextText(s, now)
}
