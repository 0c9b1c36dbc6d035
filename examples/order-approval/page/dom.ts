// A tiny DOM helper: h('span', { class: 'x' }, 'text', child).

type Child = Node | string | number | null | undefined | false

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | undefined> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag)
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined) el.setAttribute(k, v)
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue
    el.append(typeof c === 'string' || typeof c === 'number' ? String(c) : c)
  }
  return el
}

export function $(id: string): HTMLElement {
  const el = document.getElementById(id)
  if (!el) throw new Error(`missing element #${id}`)
  return el
}

/** "3.2 s", "140 ms", "" when absent. */
export function fmtMs(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return ''
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`
}

/** "in 2.4 s", "in 5 min", "in 2 h" or "now" for an ISO time. */
export function countdown(iso: string | undefined, now: number): string {
  if (!iso) return ''
  const left = Date.parse(iso) - now
  if (!(left > 0)) return 'now'
  if (left < 60_000) return `in ${(left / 1000).toFixed(1)} s`
  return left < 3_600_000 ? `in ${Math.ceil(left / 60_000)} min` : `in ${Math.ceil(left / 3_600_000)} h`
}

export function fmtTime(iso: string | undefined): string {
  if (!iso) return ''
  const d = new Date(iso)
  return Number.isNaN(d.getTime()) ? '' : d.toLocaleTimeString([], { hour12: false })
}

export function json(v: unknown): string {
  return v === undefined ? '—' : JSON.stringify(v, null, 2)
}
