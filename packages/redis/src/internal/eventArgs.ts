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
 * The await position of a step event (ARGV 14): `' <n> '` for a finite number
 * `data.position` (each number its own text), `' - '` for none, as the memory store and the
 * reducer read it.
 */
export function awaitPosition(event: NewEvent): string {
  const data = event.data
  const raw = typeof data === 'object' && data !== null ? (data as { position?: unknown }).position : undefined
  return typeof raw === 'number' && Number.isFinite(raw) ? ` ${String(raw)} ` : ' - '
}

/**
 * `data.parent` of a flow.started (ARGV 15..17: '1', its run id and step when both are strings,
 * else '', '', ''), the run and step whose `ctx.invoke` started the run.
 */
export function parentArgs(event: NewEvent): [string, string, string] {
  if (event.kind !== 'flow.started') return ['', '', '']
  const data = event.data
  const parent = typeof data === 'object' && data !== null ? (data as { parent?: unknown }).parent : undefined
  if (typeof parent !== 'object' || parent === null || Array.isArray(parent)) return ['', '', '']
  const { runId, step } = parent as { runId?: unknown; step?: unknown }
  return typeof runId === 'string' && typeof step === 'string' ? ['1', runId, step] : ['', '', '']
}
