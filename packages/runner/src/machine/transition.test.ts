import { describe, expect, it } from 'vitest'
import type { Command } from './commands.js'
import { transition } from './index.js'
import { endFence } from './keys.js'
import { checkWith, claim, done, env, FLOW, NOW, type Row, run, running, waves } from './transitionRows.js'

const check = checkWith(expect)

// The machine as tables: for each command and state, the reply, the document after, the
// appends (kind and key, wave by wave) and the jobs. No store, queue or clock. The await jobs
// and repairs are in transition.awaits.test.ts.

describe('claimStep', () => {
  it.each<Row>([
    {
      name: 'a ready step: claimed under the new lease; step.started rides behind the write, fenced',
      doc: run(),
      cmd: claim('a'),
      reply: { kind: 'claimed', lease: 'N', takeover: false },
      after: { steps: { a: { status: 'running', lease: 'N', owner: 'J', startedAt: NOW } } },
      appends: [[], ['step.started ss~a~1']],
      behind: ['step.started ss~a~1 fenced N'],
    },
    {
      name: 'a step whose needs completed: their step.completed go first',
      doc: run({ a: done(1), b: { status: 'ready' } }),
      cmd: claim('b'),
      reply: { kind: 'claimed', lease: 'N', takeover: false },
      appends: [['step.completed sc~a'], ['step.started ss~b~1']],
      behind: ['step.started ss~b~1 fenced N'],
    },
    {
      name: 'a retry that is not due yet: the job waits again (a new id, due at nextRetryAt)',
      doc: run({ a: { status: 'retrying', attempt: 2, nextRetryAt: NOW + 500 } }),
      cmd: claim('a', 2, 's~r~a~2'),
      reply: { kind: 'early' },
      after: 'unchanged',
      jobs: [`+ s~r~a~2~${NOW} @${NOW + 500}`],
    },
    {
      name: 'a due retry: step.failed and step.retry of the attempt before, then step.started (no speculation)',
      doc: run({ a: { status: 'retrying', attempt: 2, nextRetryAt: NOW, error: 'x', retryDelayMs: 10 } }),
      cmd: claim('a', 2),
      reply: { kind: 'claimed', lease: 'N', takeover: false },
      after: { steps: { a: { status: 'running', attempt: 2 } } },
      appends: [[], ['step.failed sf~a~1'], ['step.retry sr~a~2'], ['step.started ss~a~2']],
    },
    {
      name: "the job's own running step (re-delivered): taken over, traced once its step.started is stored",
      doc: run({ a: running('OLD', 'J') }),
      cmd: claim('a'),
      reply: { kind: 'claimed', lease: 'N', takeover: true },
      after: { steps: { a: { lease: 'N' } } },
      appends: [['step.started sv~a~1~N after ss~a~1 fenced N'], [], ['step.started ss~a~1']],
    },
    {
      name: "another job's running step: nothing",
      doc: run({ a: running('L', 'K') }),
      cmd: claim('a'),
      reply: { kind: 'noop' },
      after: 'unchanged',
    },
    {
      name: "the job's own running step, claimed by a later delivery (leases carry the delivery): taken over",
      doc: run({ a: running('2.OLD', 'J') }),
      cmd: { type: 'claimStep', step: 'a', attempt: 1, jobId: 'J', lease: '3.N' },
      reply: { kind: 'claimed', lease: '3.N', takeover: true },
      after: { steps: { a: { lease: '3.N' } } },
      appends: [['step.started sv~a~1~3.N after ss~a~1 fenced 3.N'], [], ['step.started ss~a~1']],
    },
    {
      name: "the job's own running step, held by a later delivery: an earlier delivery's late claim (its lock lapsed meanwhile) takes nothing",
      doc: run({ a: running('3.LATER', 'J') }),
      cmd: { type: 'claimStep', step: 'a', attempt: 1, jobId: 'J', lease: '2.N' },
      reply: { kind: 'noop' },
      after: 'unchanged',
    },
    {
      name: 'a stale attempt: nothing',
      doc: run({ a: { attempt: 2, status: 'retrying' } }),
      cmd: claim('a', 1),
      reply: { kind: 'noop' },
      after: 'unchanged',
    },
    { name: 'a canceled run: nothing', doc: run({}, { status: 'canceled' }), cmd: claim('a'), reply: { kind: 'noop' }, after: 'unchanged' },
    { name: 'an unknown run: nothing', doc: null, cmd: claim('a'), reply: { kind: 'noop' } },
    {
      name: "the job's own completed step (it crashed before its outputs): repair",
      doc: run({ a: { ...done(), owner: 'J' } }),
      cmd: claim('a'),
      reply: { kind: 'repair' },
      after: 'unchanged',
    },
  ])('$name', check)
})

describe('complete and fail', () => {
  it.each<Row>([
    {
      name: 'complete with a continuation: the first ready step is claimed inline; the other gets a job',
      doc: run({ a: running() }),
      cmd: { type: 'complete', step: 'a', lease: 'L', result: { ok: 1 }, next: { jobId: 'J', lease: 'N' } },
      reply: { next: 'b', lease: 'N' },
      after: {
        steps: {
          a: { status: 'completed', result: { ok: 1 }, duration: NOW - 5000 },
          b: { status: 'running', lease: 'N' },
          c: { status: 'ready' },
        },
      },
      appends: [['step.completed sc~a'], ['step.started ss~b~1']],
      behind: ['step.completed sc~a fenced N', 'step.started ss~b~1 after sc~a fenced N'],
      jobs: ['+ s~r~c~1'],
    },
    {
      name: 'complete without a continuation (draining): every ready step gets a job',
      doc: run({ a: running() }),
      cmd: { type: 'complete', step: 'a', lease: 'L', result: undefined },
      reply: {},
      appends: [['step.completed sc~a']],
      jobs: ['+ s~r~b~1', '+ s~r~c~1'],
    },
    {
      name: 'the last step completes the run: every step.completed, then flow.completed',
      doc: run({ a: done(), b: done(), c: done(), d: running() }),
      cmd: { type: 'complete', step: 'd', lease: 'L', result: 'D' },
      reply: {},
      after: { status: 'completed', endedAt: NOW, endedBy: 'L' },
      appends: [['step.completed sc~a', 'step.completed sc~b', 'step.completed sc~c', 'step.completed sc~d'], ['flow.completed fe']],
      // or, when this process saw the others' step.completed stored, its own and flow.completed behind the write
      behind: ['step.completed sc~d fenced L', 'flow.completed fe after sc~d fenced L'],
      ended: true,
    },
    {
      name: 'complete under a lost lease: nothing',
      doc: run({ a: running('OTHER') }),
      cmd: { type: 'complete', step: 'a', lease: 'L', result: 1 },
      reply: undefined,
      after: 'unchanged',
    },
    {
      name: 'fail with a retry: retrying, attempt 2 due after the delay',
      doc: run({ a: running() }),
      cmd: { type: 'fail', step: 'a', lease: 'L', attempt: 1, error: 'boom', retryDelayMs: 250 },
      reply: true,
      after: { steps: { a: { status: 'retrying', attempt: 2, nextRetryAt: NOW + 250, error: 'boom' } } },
      appends: [['step.failed sf~a~1'], ['step.retry sr~a~2']],
      jobs: [`+ s~r~a~2 @${NOW + 250}`],
    },
    {
      name: 'fail for good: the step and the run fail; flow.failed after step.failed',
      doc: run({ a: running() }),
      cmd: { type: 'fail', step: 'a', lease: 'L', attempt: 3, error: 'boom' },
      reply: true,
      after: { status: 'failed', error: 'boom', endedBy: 'L', steps: { a: { status: 'failed' } } },
      appends: [['step.failed sf~a~3'], [], ['flow.failed fe']],
      behind: ['step.failed sf~a~3 fenced L', 'flow.failed fe after sf~a~3 fenced L'],
      ended: true,
    },
  ])('$name', check)

  it("a run's last appends ride behind the write that ends it, fenced by the run's end fence (set by that write alone), once the appends before them are seen stored", () => {
    const t = transition(
      run({ a: done(), b: done(), c: done(), d: running() }),
      { type: 'complete', step: 'd', lease: 'L', result: 1 },
      env,
    )
    expect(t.behind?.appends.map((a) => a.fence)).toEqual([endFence('L'), endFence('L')])
    expect(t.behind?.requires).toEqual(['sc~a', 'sc~b', 'sc~c'])
    // the terminal event tells the observers what it cut off, behind the write too
    expect(t.behind?.appends[1]?.info).toEqual(t.appends.at(-1)?.[0]?.info)
    const f = transition(
      run({ a: done(), b: running('L'), c: running('M') }),
      { type: 'fail', step: 'b', lease: 'L', attempt: 1, error: 'x' },
      env,
    )
    expect(f.behind?.requires).toEqual(['sc~a'])
    expect(f.behind?.appends.map((a) => a.fence)).toEqual([endFence('L'), endFence('L')])
    // a step that ends without ending the run: nothing behind (no end fence, nothing set)
    const mid = run({ a: running() })
    expect(transition(mid, { type: 'complete', step: 'a', lease: 'L', result: 1 }, env).behind).toBeUndefined()
    expect(mid.endedBy).toBeUndefined()
  })

  it("the flow's result function: its value is the run's result; one that throws fails the run after every step.completed", () => {
    const shaped = (result: (r: Readonly<Record<string, unknown>>) => unknown) => ({ ...env, flow: { ...FLOW, result } })
    const last = (): Command => ({ type: 'complete', step: 'd', lease: 'L', result: 4 })
    const ok = run({ a: done(1), b: done(2), c: done(3), d: running() })
    const t = transition(
      ok,
      last(),
      shaped((r) => ({ sum: Object.values(r).reduce((x: number, y) => x + Number(y), 0) })),
    )
    expect(ok).toMatchObject({ status: 'completed', result: { sum: 10 } })
    expect(t.appends.at(-1)?.[0]).toMatchObject({ kind: 'flow.completed', data: { result: { sum: 10 } } })
    const bad = run({ a: done(1), b: done(2), c: done(3), d: running() })
    const f = transition(
      bad,
      last(),
      shaped(() => {
        throw new Error('no total')
      }),
    )
    expect(bad).toMatchObject({ status: 'failed', error: 'The result function of flow "f" threw: no total.' })
    expect(waves(f)).toEqual([
      ['step.completed sc~a', 'step.completed sc~b', 'step.completed sc~c', 'step.completed sc~d'],
      ['flow.failed fe'],
    ])
    expect(f.ended).toBe(true)
    const later = run({ a: done(1), b: done(2), c: done(3), d: running() })
    transition(
      later,
      last(),
      shaped(async () => 1),
    )
    expect(later.error).toMatch(/returned a promise/)
  })
})

const trigger = (state: 'pending' | 'resolved', waiting: boolean) =>
  run({
    a: {
      status: waiting ? 'suspended' : 'running',
      waitingOn: waiting ? 0 : undefined,
      lease: waiting ? undefined : 'L',
      records: [{ t: 'trigger', type: 'approval', id: 'T1', state, since: 100, attempt: 1 }],
    },
  })
const eventRun = () =>
  run({
    a: {
      status: 'suspended',
      waitingOn: 0,
      records: [{ t: 'event', kind: 'paid', match: { 'data.id': 2 }, state: 'pending', since: 0, attempt: 1 }],
    },
    b: { status: 'suspended', waitingOn: 0, records: [{ t: 'event', kind: 'paid', state: 'pending', since: 0, attempt: 1 }] },
  })
const ev = (id: string, data: unknown) => ({ id, ts: '2026-01-01T00:00:00.000Z', kind: 'paid', data })

describe('cancel, triggers and events', () => {
  it.each<Row>([
    {
      name: 'cancel a running run: awaits canceled, leases dropped, flow.canceled, its jobs removed',
      doc: run({
        a: { status: 'suspended', waitingOn: 0, records: [{ t: 'event', kind: 'paid', state: 'pending', since: 0, attempt: 1 }] },
      }),
      cmd: { type: 'cancel', reason: 'dup' },
      reply: 'canceled',
      after: { status: 'canceled', reason: 'dup', steps: { a: { records: [{ state: 'canceled', doneAt: NOW }] } } },
      appends: [[], ['flow.canceled fe']],
      jobs: ['- s~r~a~1', '- w~r~a~1~0', '- x~r~a~1~0', '- s~r~b~1', '- s~r~c~1', '- s~r~d~1'],
      ended: true,
    },
    {
      name: 'cancel a run waiting on a child: the child is announced again before flow.canceled (its own announcement, late, is refused)',
      doc: run({
        a: {
          status: 'suspended',
          waitingOn: 0,
          records: [{ t: 'run', flow: 'kid', childRunId: 'c1', input: {}, state: 'pending', since: 0, attempt: 1, by: 'J0' }],
        },
      }),
      cmd: { type: 'cancel' },
      reply: 'canceled',
      after: { status: 'canceled', steps: { a: { records: [{ state: 'canceled', doneAt: NOW }] } } },
      appends: [['step.await.run sa~a~0'], [], ['flow.canceled fe']],
      jobs: ['- s~r~a~1', '- w~r~a~1~0', '- x~r~a~1~0', '- s~r~b~1', '- s~r~c~1', '- s~r~d~1'],
      ended: true,
    },
    {
      name: 'cancel an ended run: nothing changes',
      doc: run({}, { status: 'completed' }),
      cmd: { type: 'cancel' },
      reply: 'ended',
      after: 'unchanged',
      ended: true,
    },
    { name: 'cancel an unknown run', doc: null, cmd: { type: 'cancel' }, reply: 'missing' },
    {
      name: 'resolve a pending trigger its step waits on: resolved, the step resumes',
      doc: trigger('pending', true),
      cmd: { type: 'resolveTrigger', triggerId: 'T1', value: { ok: true } },
      reply: { step: 'a', pos: 0, attempt: 1, resume: true },
      after: { steps: { a: { records: [{ state: 'resolved', value: { ok: true }, doneAt: NOW }] } } },
      jobs: ['+ r~r~a~1~0'],
    },
    {
      name: 'resolve a pending trigger of a running step: resolved, no resume (the step reads it when it waits)',
      doc: trigger('pending', false),
      cmd: { type: 'resolveTrigger', triggerId: 'T1', value: 1 },
      reply: { step: 'a', pos: 0, attempt: 1, resume: false },
    },
    {
      name: 'resolve it again: a conflict, nothing changes, the resume is asked again',
      doc: trigger('resolved', true),
      cmd: { type: 'resolveTrigger', triggerId: 'T1', value: 2 },
      reply: { step: 'a', pos: 0, attempt: 1, resume: true, conflict: 'resolved' },
      after: 'unchanged',
      jobs: ['+ r~r~a~1~0'],
    },
    {
      name: 'resolve an unknown trigger',
      doc: trigger('pending', true),
      cmd: { type: 'resolveTrigger', triggerId: 'T9', value: 1 },
      reply: null,
      after: 'unchanged',
    },
    {
      name: 'events: each await takes the first fitting event no other await consumed',
      doc: eventRun(),
      cmd: { type: 'matchEvents', events: new Map([['paid', [ev('e1', { id: 1 }), ev('e2', { id: 2 })]]]) },
      reply: 2,
      after: {
        consumed: ['e2', 'e1'],
        steps: {
          a: { records: [{ state: 'resolved', event: { id: 'e2' } }] },
          b: { records: [{ state: 'resolved', event: { id: 'e1' } }] },
        },
      },
      jobs: ['+ r~r~a~1~0', '+ r~r~b~1~0'],
    },
    {
      name: 'events: a step still suspended on one resolved before gets its resume again (lost with the process that matched it)',
      doc: run({
        a: {
          status: 'suspended',
          waitingOn: 0,
          records: [{ t: 'event', kind: 'paid', state: 'resolved', since: 0, attempt: 1, event: ev('e1', { id: 1 }), doneAt: 1 }],
        },
        b: {
          status: 'suspended',
          waitingOn: 0,
          records: [{ t: 'event', kind: 'shipped', state: 'resolved', since: 0, attempt: 1, doneAt: 1 }],
        },
      }),
      cmd: { type: 'matchEvents', events: new Map([['paid', []]]) },
      reply: 0,
      after: 'unchanged',
      jobs: ['+ r~r~a~1~0'],
    },
    {
      name: 'events: no fitting event, nothing changes',
      doc: eventRun(),
      cmd: { type: 'matchEvents', events: new Map([['other', [ev('e1', { id: 2 })]]]) },
      reply: 0,
      after: 'unchanged',
    },
  ])('$name', check)
})
