import type { EventRecord, StreamStore } from '../../packages/core/src/index.js'
import { compareEventIds, reduceFlow } from '../../packages/core/src/index.js'

/**
 * Problems with one run's log (empty when sound): ids strictly increasing
 * and unique, `flow.started` first, exactly one terminal event and it is
 * `flow.completed`, last; no step started before the steps it needs
 * completed (in log order); per step and attempt at most one `step.started`
 * (besides the `data.recovered` ones a take-over appends after it),
 * exactly one `step.completed` per step; no two events with the same kind,
 * step, meta and data (a doubled append); the reduced run is completed with
 * every step completed.
 */
export function checkRunLog(events: EventRecord[]): string[] {
  const problems: string[] = []
  const runId = events[0]?.flow ?? '?'
  const say = (msg: string) => problems.push(`${runId}: ${msg}`)
  for (let i = 1; i < events.length; i++) {
    if (compareEventIds(events[i - 1]!.id, events[i]!.id) >= 0) say(`ids not increasing at ${i}: ${events[i - 1]!.id}, ${events[i]!.id}`)
  }
  if (events[0]?.kind !== 'flow.started') say(`first event is ${events[0]?.kind}`)
  const terminal = events.filter((e) => e.kind === 'flow.completed' || e.kind === 'flow.failed' || e.kind === 'flow.canceled')
  if (terminal.length !== 1 || terminal[0]?.kind !== 'flow.completed')
    say(`terminal events: ${terminal.map((e) => e.kind).join(', ') || 'none'}`)
  else if (events.at(-1) !== terminal[0]) {
    const after = events.slice(events.indexOf(terminal[0]) + 1)
    say(`events after flow.completed: ${after.map((e) => `${e.kind}${e.step ? `(${e.step})` : ''}`).join(', ')}`)
  }
  // Causal order: a step starts only after everything it needs completed, in the log too.
  const needs = (events[0]?.data as { steps?: Record<string, { needs?: string[] }> } | undefined)?.steps ?? {}
  const done = new Set<string>()
  for (const e of events) {
    if (e.kind === 'step.completed' && e.step) done.add(e.step)
    if (e.kind === 'step.started' && e.step) {
      const missing = (needs[e.step]?.needs ?? []).filter((n) => !done.has(n))
      if (missing.length > 0) say(`step.started(${e.step}) at ${e.id} before step.completed of ${missing.join(', ')}`)
    }
  }
  const seen = new Set<string>()
  const started = new Map<string, number>()
  const completed = new Map<string, number>()
  for (const e of events) {
    const recovered = e.kind === 'step.started' && (e.data as { recovered?: unknown } | null)?.recovered === true
    const key = JSON.stringify([e.kind, e.step, e.meta, e.data])
    // a step taken over twice in one attempt (same job id) has two equal recovery events
    if (seen.has(key) && !recovered) say(`duplicate ${e.kind} ${e.step ?? ''} ${JSON.stringify(e.data)}`)
    seen.add(key)
    if (e.kind === 'step.started') {
      const k = `${e.step}#${e.meta?.attempt}`
      if (recovered) {
        if (!started.has(k)) say(`recovered step.started ${k} at ${e.id} before its step.started`)
      } else started.set(k, (started.get(k) ?? 0) + 1)
    }
    if (e.kind === 'step.completed') completed.set(e.step ?? '', (completed.get(e.step ?? '') ?? 0) + 1)
  }
  for (const [k, n] of started) if (n !== 1) say(`step.started ${k} ×${n}`)
  for (const [k, n] of completed) if (n !== 1) say(`step.completed ${k} ×${n}`)
  const state = reduceFlow(events)
  if (state.status !== 'completed') say(`status ${state.status}`)
  for (const [name, s] of Object.entries(state.steps)) if (s.status !== 'completed') say(`step ${name} is ${s.status}`)
  return problems
}

const TERMINAL = new Set(['flow.completed', 'flow.failed', 'flow.canceled'])

/**
 * Polls until every run in `runIds` has a terminal event among its last few
 * (so a stray event appended after it shows up as a problem in
 * {@link checkRunLog}, not as a timeout); then, after `settleMs`, returns
 * every run's full log.
 */
export async function waitForRuns(
  store: StreamStore,
  runIds: string[],
  timeoutMs: number,
  settleMs = 300,
): Promise<Map<string, EventRecord[]>> {
  const pending = new Set(runIds)
  const deadline = Date.now() + timeoutMs
  while (pending.size > 0) {
    const ids = [...pending]
    for (let i = 0; i < ids.length; i += 100) {
      await Promise.all(
        ids.slice(i, i + 100).map(async (runId) => {
          const tail = await store.read(runId, { direction: 'backward', limit: 5 })
          if (tail.some((e) => TERMINAL.has(e.kind))) pending.delete(runId)
        }),
      )
    }
    if (pending.size === 0) break
    if (Date.now() > deadline) {
      const sample = await Promise.all(
        [...pending].slice(0, 3).map(async (runId) => {
          const log = await store.read(runId, { limit: 200 })
          return `${runId}: ${log.map((e) => `${e.id} ${e.kind}${e.step ? `(${e.step}#${e.meta?.attempt ?? ''})` : ''}`).join(', ')}`
        }),
      )
      throw new Error(`${pending.size} of ${runIds.length} runs unfinished after ${timeoutMs} ms, e.g.\n${sample.join('\n')}`)
    }
    await new Promise((r) => setTimeout(r, 300))
  }
  await new Promise((r) => setTimeout(r, settleMs))
  const logs = new Map<string, EventRecord[]>()
  for (let i = 0; i < runIds.length; i += 100) {
    const batch = runIds.slice(i, i + 100)
    const read = await Promise.all(batch.map((runId) => store.read(runId, { limit: 10_000 })))
    for (const [k, runId] of batch.entries()) logs.set(runId, read[k] ?? [])
  }
  return logs
}
