// What the append logic (lua/append.ts) needs to know of an event beyond its JSON, worked out
// here from the caller's event, as the memory store does, so the script never decodes the JSON:
// Lua's cjson refuses JSON that JavaScript writes and reads (a lone surrogate escape such as
// "\ud800" in any string, more than 1,000 levels of nesting), and prints a number with 14
// significant digits, so the script's view of an event could differ from the reducer's.

import { type NewEvent, stepActivity } from '@leanflow/core'

/**
 * What a step event makes its step (ARGV 12, as the reducer's reduceStep): 'r' running, retrying
 * or queued, 'g' a step.started (running, and it admits a queued run), 'a' awaiting, 'd'
 * neither, '' none.
 */
export function stepClass(event: NewEvent): string {
  if (event.kind === 'step.started') return 'g'
  const act = stepActivity(event)
  return act === undefined ? '' : act === 'active' ? 'r' : act === 'awaiting' ? 'a' : 'd'
}

/**
 * ARGV 14 of the append logic, what the script would otherwise decode from the event's JSON: for
 * a step event its await position (`' <n> '` for a finite number `data.position`, each number its
 * own text; `' - '` for none), as the memory store and the reducer read it; for a `flow.started`
 * its `data.parent` (the run and step whose `ctx.invoke` started it) as `<bytes of runId>:<runId><step>`
 * when both are strings, else `''`; `''` for any other event. One argument, not one per field:
 * each argument costs the append (a hot path) a little on both sides.
 */
export function eventExtra(event: NewEvent): string {
  const data = event.data as { position?: unknown; parent?: unknown } | null | undefined
  const fields = typeof data === 'object' && data !== null ? data : undefined
  if (event.step !== undefined) {
    const raw = fields?.position
    return typeof raw === 'number' && Number.isFinite(raw) ? ` ${String(raw)} ` : ' - '
  }
  if (event.kind !== 'flow.started') return ''
  const parent = fields?.parent as { runId?: unknown; step?: unknown } | null | undefined
  if (typeof parent !== 'object' || parent === null || Array.isArray(parent)) return ''
  const { runId, step } = parent
  return typeof runId === 'string' && typeof step === 'string' ? `${Buffer.byteLength(runId)}:${runId}${step}` : ''
}
