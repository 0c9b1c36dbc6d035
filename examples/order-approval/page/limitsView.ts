// The limits box: the listed flow's limits in use (flow control), from `GET /flows/:flow/limits`:
// per limit and key, how many hold a slot (a rate limit: admissions in its window) and how many
// wait. Hidden when the handler has no such route.
import type { LimitRow } from './api.js'
import { h } from './dom.js'

const KIND = { concurrency: 'concurrency', rateLimit: 'rate limit' } as const

/** Shows `rows` (the limits of `flow`) in `box`; `undefined` (no route) hides the box. */
export function renderLimits(box: HTMLElement, flow: string, rows: LimitRow[] | undefined): void {
  box.hidden = rows === undefined
  if (!rows) return
  const title = box.querySelector('.limits-flow')
  if (title) title.textContent = flow
  const body = rows.map((r) =>
    h(
      'tr',
      { 'data-scope': r.scope, 'data-kind': r.kind, 'data-key': r.key },
      h('td', {}, r.scope),
      h('td', {}, KIND[r.kind] ?? r.kind),
      h('td', {}, r.key === '' ? h('span', { class: 'muted' }, 'no key') : h('code', {}, r.key)),
      h('td', { class: 'num active' }, r.active),
      h('td', { class: 'num queued' }, r.queued),
    ),
  )
  const table = box.querySelector('tbody') as HTMLElement
  if (body.length === 0) table.replaceChildren(h('tr', { class: 'none' }, h('td', { colspan: '5', class: 'muted' }, 'no limit in use')))
  else table.replaceChildren(...body)
}
