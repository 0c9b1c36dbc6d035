import { describe, expect, it } from 'vitest'
import type { Command } from './commands.js'
import { newRun, rerunCopies, transition } from './index.js'
import type { Env } from './outputs.js'
import { completedAppend } from './outputs.js'
import { newRunDoc, type RunDoc, type StepDoc } from './runDoc.js'

// The machine's part of versions, patches and reruns, as tables: a job of a run whose version
// the runner lacks changes nothing; ctx.patched markers ride with the next record write; a
// rerun's copies and its new document.

const FLOW = { name: 'f', version: 2, steps: { a: {}, b: { needs: ['a'] }, c: { needs: ['b'] }, d: {} } }
const env: Env = { runId: 'r', now: 10_000, flow: FLOW }
const unheld: Env = { ...env, flow: undefined }

function run(steps: Record<string, Partial<StepDoc>> = {}): RunDoc {
  const doc = newRunDoc(FLOW, 1000, 0)
  for (const [name, s] of Object.entries(steps)) Object.assign(doc.steps[name] as StepDoc, s)
  return doc
}
const running = { status: 'running', lease: 'L', owner: 'J', startedAt: 5000 } as const

describe('a job of a run pinned to a version this runner does not hold', () => {
  it.each<{ name: string; doc: RunDoc; cmd: Command }>([
    { name: 'claimStep of a ready step', doc: run(), cmd: { type: 'claimStep', step: 'a', attempt: 1, jobId: 'J', lease: 'N' } },
    {
      name: 'claimStep of its own running step (a take-over)',
      doc: run({ a: running }),
      cmd: { type: 'claimStep', step: 'a', attempt: 1, jobId: 'J', lease: 'N' },
    },
    {
      name: 'awaitJob of a resolved await',
      doc: run({
        a: { status: 'suspended', waitingOn: 0, records: [{ t: 'time', at: 1, since: 0, attempt: 1, state: 'resolved' }] },
      }),
      cmd: { type: 'awaitJob', job: 'resume', step: 'a', pos: 0, jobId: 'J2', lease: 'N' },
    },
  ])('$name: unheld, nothing changed, nothing appended or queued', ({ doc, cmd }) => {
    const before = JSON.stringify(doc)
    const t = transition(doc, cmd, unheld)
    expect(t.reply).toEqual({ kind: 'unheld' })
    expect(JSON.stringify(doc)).toBe(before)
    expect(t.appends).toEqual([])
    expect(t.jobs).toEqual([])
    expect(t.behind).toBeUndefined()
  })

  it.each<{ name: string; doc: RunDoc; cmd: Command }>([
    {
      name: 'the timeout job of an await resolved before the run completed',
      doc: {
        ...run({
          a: {
            status: 'completed',
            owner: 'S',
            records: [{ t: 'event', kind: 'paid', match: {}, since: 0, attempt: 1, state: 'resolved', timeoutAt: 99_000 }],
          },
        }),
        status: 'completed',
      } as RunDoc,
      cmd: { type: 'awaitJob', job: 'timeout', step: 'a', pos: 0, jobId: 'T', lease: 'N' },
    },
    {
      name: 'the timer of a step still waiting when its run failed',
      doc: {
        ...run({
          a: { status: 'suspended', waitingOn: 0, owner: 'S', records: [{ t: 'time', at: 9000, since: 0, attempt: 1, state: 'pending' }] },
        }),
        status: 'failed',
      } as RunDoc,
      cmd: { type: 'awaitJob', job: 'time', step: 'a', pos: 0, jobId: 'T', lease: 'N' },
    },
    {
      name: 'the retry job of a step of a failed run',
      doc: { ...run({ b: { status: 'retrying', attempt: 2, owner: 'S' } }), status: 'failed' } as RunDoc,
      cmd: { type: 'claimStep', step: 'b', attempt: 2, jobId: 'R', lease: 'N' },
    },
  ])('$name: a leftover of an ended run is a no-op, not handed back for ever', ({ doc, cmd }) => {
    const before = JSON.stringify(doc)
    const t = transition(doc, cmd, unheld)
    expect(t.reply).toEqual({ kind: 'noop' })
    expect(JSON.stringify(doc)).toBe(before)
    expect(t.appends).toEqual([])
    expect(t.jobs).toEqual([])
  })

  it('a job an ended run needs for its repair (its step completed, its outputs maybe not carried) is still handed back', () => {
    const doc = { ...run({ a: { status: 'completed', owner: 'J', attempt: 1 } }), status: 'completed' } as RunDoc
    expect(transition(doc, { type: 'claimStep', step: 'a', attempt: 1, jobId: 'J', lease: 'N' }, unheld).reply).toEqual({ kind: 'unheld' })
  })

  it('the same job on a runner that holds the version claims the step', () => {
    const t = transition(run(), { type: 'claimStep', step: 'a', attempt: 1, jobId: 'J', lease: 'N' }, env)
    expect(t.reply).toMatchObject({ kind: 'claimed' })
  })
})

describe('ctx.patched markers ride with the next record write', () => {
  const mark = (pos: number, id = 'x') => ({ pos, rec: { t: 'do' as const, name: `patched:${id}` } })
  it.each<{ name: string; records: number; cmd: Command; reply: unknown; names: string[] }>([
    {
      name: 'record at 1 with the marker at 0',
      records: 0,
      cmd: { type: 'record', step: 'a', lease: 'L', pos: 1, rec: { t: 'do', name: 'fraud' }, marks: [mark(0)] },
      reply: 'ok',
      names: ['patched:x', 'fraud'],
    },
    {
      name: 'announce at 2 with markers at 0 and 1',
      records: 0,
      cmd: {
        type: 'announce',
        step: 'a',
        lease: 'L',
        pos: 2,
        rec: { t: 'time', at: 99_000, since: 0, attempt: 1, state: 'pending' },
        suspend: false,
        marks: [mark(0), mark(1, 'y')],
      },
      reply: 'ok',
      names: ['patched:x', 'patched:y', 'time'],
    },
    {
      name: 'suspend recording awaits at 0 and 2 around a marker at 1',
      records: 0,
      cmd: {
        type: 'suspend',
        step: 'a',
        lease: 'L',
        positions: [0, 2],
        announce: [
          { pos: 0, rec: { t: 'time', at: 99_000, since: 0, attempt: 1, state: 'pending' } },
          { pos: 2, rec: { t: 'time', at: 99_000, since: 0, attempt: 1, state: 'pending' } },
        ],
        marks: [mark(1)],
      },
      reply: 'suspended',
      names: ['time', 'patched:x', 'time'],
    },
    {
      name: 'a marker that leaves a gap is refused (another execution wrote there): nothing changes',
      records: 1,
      cmd: { type: 'record', step: 'a', lease: 'L', pos: 3, rec: { t: 'do', name: 'fraud' }, marks: [mark(2)] },
      reply: 'lease',
      names: ['first'],
    },
  ])('$name', ({ records, cmd, reply, names }) => {
    const doc = run({ a: { ...running, records: records ? [{ t: 'do', name: 'first' }] : [] } })
    const t = transition(doc, cmd, env)
    expect(t.reply).toEqual(reply)
    expect(doc.steps.a?.records.map((r) => (r.t === 'do' ? r.name : r.t))).toEqual(names)
  })
})

describe('rerun', () => {
  const source = run({
    a: { status: 'completed', result: { z: 1, a: [2] } },
    b: { status: 'failed', error: 'boom' },
    d: { status: 'completed' },
  })

  it('copies every completed step outside from and its descendants; from and its descendants run fresh', () => {
    expect(rerunCopies(FLOW, 'r0', source, 'b')).toEqual({ a: { result: { z: 1, a: [2] } }, d: {} })
    expect(rerunCopies(FLOW, 'r0', source, 'a')).toEqual({ d: {} })
    expect(rerunCopies(FLOW, 'r0', source, undefined)).toEqual({})
    // a step that never completed has nothing to copy: it runs again
    expect(rerunCopies(FLOW, 'r0', source, 'c')).toEqual({ a: { result: { z: 1, a: [2] } }, d: {} })
  })

  it('refuses a from that is not a step, naming it and the steps', () => {
    expect(() => rerunCopies(FLOW, 'r0', source, 'nope')).toThrow(/"nope".*a, b, c, d/)
  })

  it('the new document: copied steps completed (copied), the next ones ready; flow.started carries version and rerunOf', () => {
    const copies = rerunCopies(FLOW, 'r0', source, 'b')
    const { doc, first, copied } = newRun(FLOW, 'r1', { n: 1 }, 2000, 0, { rerun: { of: 'r0', from: 'b', copies } })
    expect(copied).toEqual(['a', 'd'])
    expect(doc.version).toBe(2)
    expect(Object.fromEntries(Object.entries(doc.steps).map(([n, s]) => [n, s.status]))).toEqual({
      a: 'completed',
      b: 'ready',
      c: 'pending',
      d: 'completed',
    })
    expect(first.data).toMatchObject({ name: 'f', version: 2, input: { n: 1 }, rerunOf: { runId: 'r0', from: 'b' } })
    expect(completedAppend(doc, 'a').data).toEqual({ result: { z: 1, a: [2] }, duration: 0, copied: true })
    const all = newRun(FLOW, 'r2', null, 2000, 0, { rerun: { of: 'r0', copies: {} } })
    expect(all.first.data).toMatchObject({ rerunOf: { runId: 'r0' } })
    expect((all.first.data as { rerunOf: object }).rerunOf).not.toHaveProperty('from')
    expect(all.doc.steps.a?.status).toBe('ready')
  })
})
