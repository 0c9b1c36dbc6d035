import type { Append, Command, JobOut, Transition } from './commands.js'
import { transition } from './index.js'
import { RUN_FENCE } from './keys.js'
import type { Env } from './outputs.js'
import { newRunDoc, type RunDoc, type StepDoc } from './runDoc.js'

// What the machine's table tests share (transition.test.ts, transition.awaits.test.ts): a flow,
// documents of it, and a row checked against one transition.

export const FLOW = { name: 'f', steps: { a: {}, b: { needs: ['a'] }, c: { needs: ['a'] }, d: { needs: ['b', 'c'] } } }
export const NOW = 10_000
export const env: Env = { runId: 'r', now: NOW, flow: FLOW }

/** A run of FLOW with some steps changed. */
export function run(steps: Record<string, Partial<StepDoc>> = {}, over: Partial<RunDoc> = {}): RunDoc {
  const doc = newRunDoc(FLOW, 1000, 0)
  for (const [name, s] of Object.entries(steps)) Object.assign(doc.steps[name] as StepDoc, s)
  return Object.assign(doc, over)
}
export const running = (lease = 'L', owner = 'J'): Partial<StepDoc> => ({ status: 'running', lease, owner, startedAt: 5000 })
export const done = (result?: unknown): Partial<StepDoc> => ({ status: 'completed', result, duration: 1 })
/** Appends as `kind key`, wave by wave. */
export const waves = (t: Transition) => t.appends.map((w) => w.map(show))
/** An append as the tables show it (the run's fence, on every announcement, left out: a test of its own pins it). */
export const show = (a: Append) =>
  `${a.kind} ${a.key}${a.after ? ` after ${a.after}` : ''}${a.fence && a.fence.key !== RUN_FENCE.key ? ` fenced ${a.fence.token}` : ''}`
export const jobs = (t: Transition) =>
  t.jobs.map((j: JobOut) => (j.op === 'remove' ? `- ${j.id}` : `+ ${j.id}${j.at === undefined ? '' : ` @${j.at}`}`))

export interface Row {
  name: string
  doc: RunDoc | null
  cmd: Command
  reply: unknown
  /** The changed parts of the document (checked with toMatchObject), or 'unchanged'. */
  after?: Record<string, unknown> | 'unchanged'
  appends?: string[][]
  jobs?: string[]
  behind?: string[]
  ended?: boolean
}

/** Vitest's `expect`, as far as a row's check uses it: a file in src/ that is no test imports no vitest (test/packages/layering.test.ts). */
type Expect = (actual: unknown) => {
  toEqual(expected: unknown): void
  toBe(expected: unknown): void
  toMatchObject(expected: object): void
}

/** The check of one row: `it.each(rows)('$name', checkWith(expect))`. */
export function checkWith(expect: Expect) {
  return (row: Row) => {
    const before = JSON.stringify(row.doc)
    const t = transition(row.doc, row.cmd, env)
    expect(t.reply).toEqual(row.reply)
    if (row.after === 'unchanged') expect(JSON.stringify(row.doc)).toBe(before)
    else if (row.after) expect(row.doc).toMatchObject(row.after)
    expect(waves(t)).toEqual(row.appends ?? [])
    expect(jobs(t)).toEqual(row.jobs ?? [])
    expect(t.behind?.appends.map(show)).toEqual(row.behind)
    expect(t.ended === true).toBe(row.ended === true)
  }
}

export const claim = (step: string, attempt = 1, jobId = 'J'): Command => ({ type: 'claimStep', step, attempt, jobId, lease: 'N' })
