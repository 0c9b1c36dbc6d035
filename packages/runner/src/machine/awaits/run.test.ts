import { describe, expect, it } from 'vitest'
import type { Append, Command, JobOut, Transition } from '../commands.js'
import { repairOutputs, transition } from '../index.js'
import type { Env } from '../outputs.js'
import { newRunDoc, type RunDoc, type StepDoc } from '../runDoc.js'
import * as rows from '../transitionRows.js'

// `resolveChildren` as a table: children's ends told their parent, alone or in batches. No store,
// queue or clock (the fan-out's wake-ups in any order: fanOut.property.test.ts).

const FLOW = { name: 'f', steps: { a: {} } }
const NOW = 10_000
const env: Env = { runId: 'r', now: NOW, flow: FLOW }
const running = (): Partial<StepDoc> => ({ status: 'running', lease: 'L', owner: 'J', startedAt: 5000 })
const jobs = (t: Transition) => t.jobs.map((j: JobOut) => (j.op === 'remove' ? `- ${j.id}` : `+ ${j.id}`))

/** A run of FLOW with step `a` changed. */
function run(a: Partial<StepDoc>): RunDoc {
  const doc = newRunDoc(FLOW, 1000, 0)
  Object.assign(doc.steps.a as StepDoc, a)
  return doc
}

interface Row {
  name: string
  doc: RunDoc | null
  cmd: Command
  reply: unknown
  /** The changed parts of the document (checked with toMatchObject), or 'unchanged'. */
  after?: Record<string, unknown> | 'unchanged'
  jobs?: string[]
}

function check(row: Row) {
  const before = JSON.stringify(row.doc)
  const t = transition(row.doc, row.cmd, env)
  expect(t.reply).toEqual(row.reply)
  if (row.after === 'unchanged') expect(JSON.stringify(row.doc)).toBe(before)
  else if (row.after) expect(row.doc).toMatchObject(row.after)
  expect(t.appends).toEqual([])
  expect(jobs(t)).toEqual(row.jobs ?? [])
}

/** Step `a` waiting on children k0..k3 at positions 0..3 (suspended on `waiting`, or running), their states as given. */
const kids = (states: Array<'pending' | 'resolved'>, waiting: number[] | 'running' = [0, 1, 2, 3]) =>
  run({
    ...(waiting === 'running' ? running() : { status: 'suspended' as const, waitingOn: waiting[0], waitingAll: waiting }),
    records: states.map((state, i) => ({
      t: 'run' as const,
      flow: 'kid',
      childRunId: `k${i}`,
      state,
      since: 0,
      attempt: 1,
      ...(state === 'pending' ? { input: { i }, by: 'J' } : { outcome: { status: 'completed' as const, result: i }, doneAt: 1 }),
    })),
  })
const ended = (childRunId: string, result: unknown = 'x') => ({ childRunId, outcome: { status: 'completed' as const, result } })
const at = (pos: number, resume: boolean) => ({ step: 'a', pos, attempt: 1, resume })

describe('resolveChildren', () => {
  it.each<Row>([
    {
      name: "a child's end its suspended step waits on: resolved (its input dropped), the step resumes",
      doc: kids(['pending', 'pending', 'pending', 'pending']),
      cmd: { type: 'resolveChildren', ends: [ended('k2', 7)] },
      reply: [at(2, true)],
      after: {
        steps: {
          a: {
            records: [
              { input: { i: 0 }, by: 'J' },
              {},
              { state: 'resolved', outcome: { status: 'completed', result: 7 }, doneAt: NOW },
              {},
            ],
          },
        },
      },
      jobs: ['+ r~r~a~1~2'],
    },
    {
      name: 'several ends at once: each await resolved in one write, one resume job for the wake (named after the first resolved position)',
      doc: kids(['pending', 'pending', 'pending', 'pending']),
      cmd: { type: 'resolveChildren', ends: [ended('k3'), ended('k1'), ended('k0')] },
      reply: [at(3, true), at(1, false), at(0, false)],
      after: { steps: { a: { records: [{ state: 'resolved' }, { state: 'resolved' }, { state: 'pending' }, { state: 'resolved' }] } } },
      jobs: ['+ r~r~a~1~0'],
    },
    {
      name: "an end after another child's end woke the suspended step: resolved, no second resume job (the first is on its way)",
      doc: kids(['resolved', 'pending', 'pending', 'pending']),
      cmd: { type: 'resolveChildren', ends: [ended('k2')] },
      reply: [at(2, false)],
      after: { steps: { a: { records: [{}, {}, { state: 'resolved' }, {}] } } },
    },
    {
      name: 'an end of an await the step waits on again after it resumed: the resolved ones before are out of its wait set, the step resumes',
      doc: kids(['resolved', 'pending', 'pending', 'pending'], [1, 2, 3]),
      cmd: { type: 'resolveChildren', ends: [ended('k1')] },
      reply: [at(1, true)],
      jobs: ['+ r~r~a~1~1'],
    },
    {
      name: 'a second end of a resolved await the step waits on: nothing changes, its resume is asked again (one lost to a crash)',
      doc: kids(['resolved', 'pending', 'pending', 'pending']),
      cmd: { type: 'resolveChildren', ends: [ended('k0', 'other')] },
      reply: [at(0, true)],
      after: 'unchanged',
      jobs: ['+ r~r~a~1~0'],
    },
    {
      name: 'the same end twice in one batch: resolved once, with the first outcome; the second asks for the resume again',
      doc: kids(['pending', 'pending', 'pending', 'pending']),
      cmd: { type: 'resolveChildren', ends: [ended('k1', 1), ended('k1', 2)] },
      reply: [at(1, true), at(1, true)],
      after: { steps: { a: { records: [{}, { state: 'resolved', outcome: { result: 1 } }, {}, {}] } } },
      jobs: ['+ r~r~a~1~1'],
    },
    {
      name: 'repeats of ends folded before (an outbox taken twice): the resume asked again, named after the first resolved position, as the first wake named it (the queue keeps one)',
      doc: kids(['pending', 'resolved', 'resolved', 'pending']),
      cmd: { type: 'resolveChildren', ends: [ended('k2'), ended('k1'), ended('k3')] },
      reply: [at(2, true), at(1, true), at(3, false)],
      after: { steps: { a: { records: [{ state: 'pending' }, { state: 'resolved' }, { state: 'resolved' }, { state: 'resolved' }] } } },
      jobs: ['+ r~r~a~1~1'],
    },
    {
      name: 'ends while the step runs: resolved, no resume (the step reads them when it waits)',
      doc: kids(['pending', 'pending', 'pending', 'pending'], 'running'),
      cmd: { type: 'resolveChildren', ends: [ended('k0'), ended('k3')] },
      reply: [at(0, false), at(3, false)],
      after: { steps: { a: { status: 'running', records: [{ state: 'resolved' }, {}, {}, { state: 'resolved' }] } } },
    },
    {
      name: 'an unknown child among known ones: null for it, the others resolved',
      doc: kids(['pending', 'pending', 'pending', 'pending']),
      cmd: { type: 'resolveChildren', ends: [ended('k9'), ended('k2')] },
      reply: [null, at(2, true)],
      jobs: ['+ r~r~a~1~2'],
    },
    {
      name: 'a run that ended meanwhile (another step failed it, a cancel): nothing changes, null for each, no resume',
      doc: { ...kids(['pending', 'pending', 'pending', 'pending']), status: 'failed' },
      cmd: { type: 'resolveChildren', ends: [ended('k1'), ended('k2')] },
      reply: [null, null],
      after: 'unchanged',
    },
    {
      name: 'an unknown run: null for each',
      doc: null,
      cmd: { type: 'resolveChildren', ends: [ended('k0'), ended('k1')] },
      reply: [null, null],
    },
  ])('$name', check)

  it('keeps of a resolved await what a replay needs and its announcer (no input): its announcement goes out again with its step.resumed or before its step ends', () => {
    const doc = kids(['pending', 'pending', 'pending', 'pending'])
    transition(doc, { type: 'resolveChildren', ends: [ended('k2', 7)] }, env)
    expect(doc.steps.a?.records[2]).toEqual({
      t: 'run',
      flow: 'kid',
      childRunId: 'k2',
      state: 'resolved',
      since: 0,
      attempt: 1,
      by: 'J',
      outcome: { status: 'completed', result: 7 },
      doneAt: NOW,
    })
  })
})

describe('the resume of a step waiting on all its children', () => {
  it('announces every await it resumes again before its step.resumed (an announcement a dead worker never sent is not lost)', () => {
    // all four ended; the resume job of the last one claims the step and resumes every position
    const doc = kids(['resolved', 'resolved', 'resolved', 'resolved'])
    const t = transition(doc, { type: 'awaitJob', job: 'resume', step: 'a', pos: 3, jobId: 'w', lease: 'N' }, env)
    expect(t.reply).toEqual({ kind: 'claimed', lease: 'N', takeover: false })
    const kinds = t.appends.flat().map((a) => `${a.kind} ${(a.data as { position?: number }).position}`)
    for (const pos of [0, 1, 2, 3]) {
      const announced = kinds.indexOf(`step.await.run ${pos}`)
      expect(announced, `position ${pos} announced`).toBeGreaterThanOrEqual(0)
      expect(announced).toBeLessThan(kinds.indexOf(`step.resumed ${pos}`))
    }
  })
})

describe('a race loser whose child was written before its announcement, by a worker that died in between', () => {
  // step a under the resume job R: position 0 won the race (resumed), position 1 lost it, its
  // await recorded by the dead job J (`by`), whose re-delivery finds nothing pending once it closed
  const raced = (loser: 'pending' | 'resolved') =>
    run({
      ...running(),
      owner: 'R',
      records: [
        { t: 'run', flow: 'kid', childRunId: 'k0', state: 'resolved', since: 0, doneAt: 1, attempt: 1, outcome: { status: 'completed' } },
        {
          t: 'run',
          flow: 'kid',
          childRunId: 'k1',
          state: loser,
          since: 0,
          attempt: 1,
          by: 'J',
          ...(loser === 'pending' ? { input: {} } : { doneAt: 2, outcome: { status: 'completed' as const } }),
        },
      ],
    })
  /** The appends as `kind position`, in order. */
  const order = (appends: Append[][]) => appends.flat().map((a) => `${a.kind} ${(a.data as { position?: number }).position ?? ''}`.trim())
  const announcedBefore = (appends: Append[][], end: string) => {
    const kinds = order(appends)
    expect(kinds, 'the loser announced').toContain('step.await.run 1')
    expect(kinds.indexOf('step.await.run 1'), `before ${end}`).toBeLessThan(kinds.indexOf(end))
  }

  it.each(['pending', 'resolved'] as const)('the step completing announces its %s loser again, before its step.completed', (loser) => {
    const t = transition(raced(loser), { type: 'complete', step: 'a', lease: 'L', result: 'won' }, env)
    announcedBefore(t.appends, 'step.completed')
    expect(order(t.appends).at(-1)).toBe('flow.completed')
    // a pending loser's child may never have been started (J died first): started before its announcement; an ended one exists
    expect(t.children?.map((c) => c.runId)).toEqual(loser === 'pending' ? ['k1'] : undefined)
    // the run's end rides behind its write only once this process saw the loser's announcement
    // stored (its child exists then: the shell starts none); else all go the ordinary way, in order
    expect(t.behind?.requires).toEqual(['sa~a~1'])
    expect(t.behind?.appends.map((a) => a.kind)).toEqual(['step.completed', 'flow.completed'])
  })

  it("the step completing with the next step claimed inline: announced in a wave before step.completed; the write's own appends ride behind it only once it is seen stored", () => {
    const doc = rows.run({ a: { ...raced('pending').steps.a } })
    const t = transition(doc, { type: 'complete', step: 'a', lease: 'L', result: 'won', next: { jobId: 'J2', lease: 'N' } }, rows.env)
    expect(t.reply).toMatchObject({ next: 'b', lease: 'N' })
    expect(t.behind?.requires).toEqual(['sa~a~1'])
    expect(order(t.appends)).toEqual(['step.await.run 1', 'step.completed', 'step.started'])
    expect(t.children).toEqual([{ flow: 'kid', runId: 'k1', input: {}, parent: { runId: 'r', step: 'a', pos: 1 }, since: 0, late: true }])
  })

  it('the step failing for good announces it again, before its step.failed', () => {
    const t = transition(raced('pending'), { type: 'fail', step: 'a', lease: 'L', attempt: 1, error: 'ChildRunError' }, env)
    announcedBefore(t.appends, 'step.failed')
    expect(t.children?.map((c) => c.runId)).toEqual(['k1'])
    expect(t.behind?.requires).toEqual(['sa~a~1'])
    expect(t.behind?.appends.map((a) => a.kind)).toEqual(['step.failed', 'flow.failed'])
  })

  it('the run canceled announces it again, before its flow.canceled', () => {
    const t = transition(raced('pending'), { type: 'cancel', reason: 'stop' }, env)
    announcedBefore(t.appends, 'flow.canceled')
    // its child is started (idempotent), then canceled with the run (cancelOrphans)
    expect(t.children?.map((c) => c.runId)).toEqual(['k1'])
  })

  it('a timeout of an invoke whose child J never started: the resume starts the child before announcing it, not riding behind its claim', () => {
    const doc = run({
      status: 'suspended',
      waitingOn: 0,
      records: [{ t: 'run', flow: 'kid', childRunId: 'k1', state: 'pending', since: 0, attempt: 1, by: 'J', input: {}, timeoutAt: 5 }],
    })
    const t = transition(doc, { type: 'awaitJob', job: 'timeout', step: 'a', pos: 0, jobId: 'T', lease: 'N' }, env)
    expect(t.reply).toMatchObject({ kind: 'claimed' })
    expect(t.children?.map((c) => c.runId)).toEqual(['k1'])
    expect(t.behind).toBeUndefined()
    expect(order(t.appends)).toEqual(['step.await.run 0', 'step.await.timeout 0'])
    expect(t.children?.[0]).toMatchObject({ runId: 'k1', parent: { step: 'a', pos: 0 } })
  })

  it('a repair of the completed step (its job died before its appends) announces it again too', () => {
    const doc = raced('pending')
    transition(doc, { type: 'complete', step: 'a', lease: 'L', result: 'won' }, env)
    const { outputs } = repairOutputs(doc, 'R', env)
    announcedBefore(
      outputs.flatMap((o) => o.appends),
      'step.completed',
    )
    expect(outputs.flatMap((o) => o.children ?? []).map((c) => c.runId)).toEqual(['k1'])
  })

  it('a loser that ended after the race settled keeps its announcer until the step announces it', () => {
    const doc = raced('pending')
    transition(doc, { type: 'resolveChildren', ends: [ended('k1')] }, env)
    expect(doc.steps.a?.records[1]).toMatchObject({ state: 'resolved', by: 'J' })
    announcedBefore(transition(doc, { type: 'complete', step: 'a', lease: 'L', result: 'won' }, env).appends, 'step.completed')
  })

  it('an await resumed by its own step.resumed (announced with it) is not announced again when the step completes', () => {
    const doc = kids(['pending', 'pending', 'pending', 'pending'])
    transition(doc, { type: 'resolveChildren', ends: [ended('k0'), ended('k1'), ended('k2'), ended('k3')] }, env)
    transition(doc, { type: 'awaitJob', job: 'resume', step: 'a', pos: 0, jobId: 'R', lease: 'N' }, env)
    const t = transition(doc, { type: 'complete', step: 'a', lease: 'N', result: 'all' }, env)
    expect(order(t.appends)).toEqual(['step.completed', 'flow.completed'])
  })
})
