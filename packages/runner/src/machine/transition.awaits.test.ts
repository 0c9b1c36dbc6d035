import { describe, expect, it } from 'vitest'
import type { Command } from './commands.js'
import { repairOutputs, transition } from './index.js'
import { RUN_FENCE } from './keys.js'
import { checkWith, claim, done, env, jobs, NOW, type Row, run, running, waves } from './transitionRows.js'

const check = checkWith(expect)

// The machine as tables, continued: await jobs (time, timeout, resume), the execution's
// commands, and repairOutputs.

const timeRun = (state: 'pending' | 'resolved', status: 'suspended' | 'running' = 'suspended') =>
  run({ a: { status, waitingOn: 0, owner: 'J0', records: [{ t: 'time', at: NOW + 100, state, since: 0, attempt: 1 }] } })
const timeoutRun = () =>
  run({
    a: {
      status: 'suspended',
      waitingOn: 0,
      records: [{ t: 'event', kind: 'paid', state: 'pending', since: 0, timeoutAt: NOW - 1, attempt: 1 }],
    },
  })
const job = (j: 'time' | 'timeout' | 'resume', jobId = 'w~r~a~1~0'): Command => ({
  type: 'awaitJob',
  job: j,
  step: 'a',
  pos: 0,
  jobId,
  lease: 'N',
})

describe('await jobs and the execution', () => {
  it.each<Row>([
    {
      name: 'a time job fired early waits again',
      doc: timeRun('pending'),
      cmd: job('time'),
      reply: { kind: 'early' },
      after: 'unchanged',
      jobs: [`+ w~r~a~1~0~${NOW} @${NOW + 100}`],
    },
    {
      name: 'a due time job resolves its await and claims the step: announcement, then step.resumed, riding behind the write, fenced',
      doc: run({ a: { status: 'suspended', waitingOn: 0, records: [{ t: 'time', at: NOW, state: 'pending', since: 0, attempt: 1 }] } }),
      cmd: job('time'),
      reply: { kind: 'claimed', lease: 'N', takeover: false },
      after: { steps: { a: { status: 'running', lease: 'N', records: [{ state: 'resolved', doneAt: NOW }] } } },
      appends: [['step.await.time sa~a~0'], ['step.resumed su~a~0']],
      behind: ['step.await.time sa~a~0 fenced N', 'step.resumed su~a~0 after sa~a~0 fenced N'],
    },
    {
      name: 'a due timeout times the await out; its step resumes (to throw AwaitTimeoutError) and stops watching',
      doc: timeoutRun(),
      cmd: job('timeout', 'x~r~a~1~0'),
      reply: { kind: 'claimed', lease: 'N', takeover: false },
      after: { steps: { a: { records: [{ state: 'timedOut' }] } } },
      appends: [['step.await.event sa~a~0'], ['step.await.timeout st~a~0']],
      behind: ['step.await.event sa~a~0 fenced N', 'step.await.timeout st~a~0 after sa~a~0 fenced N'],
    },
    {
      name: 'a resume job of a step not waiting: nothing',
      doc: timeRun('resolved', 'running'),
      cmd: job('resume', 'r~r~a~1~0'),
      reply: { kind: 'noop' },
      after: 'unchanged',
    },
    {
      name: 'announce a trigger (no suspension): recorded and announced, its timeout job queued',
      doc: run({ a: running() }),
      cmd: {
        type: 'announce',
        step: 'a',
        lease: 'L',
        pos: 0,
        suspend: false,
        rec: { t: 'trigger', type: 'ok', id: 'T', state: 'pending', since: NOW, timeoutAt: NOW + 60, attempt: 1 },
      },
      reply: 'ok',
      after: { steps: { a: { status: 'running', records: [{ t: 'trigger', id: 'T' }] } } },
      appends: [['step.await.trigger sa~a~0']],
      jobs: [`+ x~r~a~1~0 @${NOW + 60}`],
    },
    {
      name: 'announce a pending time await: the step suspends (lease given up), its timer queued',
      doc: run({ a: running() }),
      cmd: {
        type: 'announce',
        step: 'a',
        lease: 'L',
        pos: 0,
        suspend: true,
        rec: { t: 'time', at: NOW + 5, state: 'pending', since: NOW, attempt: 1 },
      },
      reply: 'ok',
      after: { steps: { a: { status: 'suspended', waitingOn: 0 } } },
      appends: [['step.await.time sa~a~0']],
      jobs: [`+ w~r~a~1~0 @${NOW + 5}`],
    },
    {
      name: 'announce at a position another execution recorded: refused (lease)',
      doc: run({ a: { ...running(), records: [{ t: 'do', name: 'x' }] } }),
      cmd: {
        type: 'announce',
        step: 'a',
        lease: 'L',
        pos: 0,
        suspend: true,
        rec: { t: 'time', at: 1, state: 'pending', since: 1, attempt: 1 },
      },
      reply: 'lease',
      after: 'unchanged',
    },
    {
      name: 'suspend on a resolved await: its record, with its announcement again (idempotent) and step.resumed',
      doc: run({
        a: { ...running(), records: [{ t: 'trigger', type: 'ok', id: 'T', state: 'resolved', value: 7, since: 0, doneAt: 5, attempt: 1 }] },
      }),
      cmd: { type: 'suspend', step: 'a', lease: 'L', positions: [0] },
      reply: [{ pos: 0, rec: { t: 'trigger', type: 'ok', id: 'T', state: 'resolved', value: 7, since: 0, doneAt: 5, attempt: 1 } }],
      after: 'unchanged',
      appends: [['step.await.trigger sa~a~0'], ['step.resumed su~a~0']],
    },
    {
      name: 'record a ctx.do result',
      doc: run({ a: running() }),
      cmd: { type: 'record', step: 'a', lease: 'L', pos: 0, rec: { t: 'do', name: 'charge', value: 'ch_1' } },
      reply: 'ok',
      after: { steps: { a: { records: [{ t: 'do', name: 'charge', value: 'ch_1' }] } } },
    },
    {
      name: 'record written again by its own lease (the first reply lost): ok, nothing changes',
      doc: run({ a: { ...running(), records: [{ t: 'do', name: 'charge', value: 'ch_1' }] } }),
      cmd: { type: 'record', step: 'a', lease: 'L', pos: 0, rec: { t: 'do', name: 'charge', value: 'ch_1' } },
      reply: 'ok',
      after: 'unchanged',
    },
    {
      name: 'record where another result is recorded already: refused as a lost lease',
      doc: run({ a: { ...running(), records: [{ t: 'do', name: 'charge', value: 'ch_0' }] } }),
      cmd: { type: 'record', step: 'a', lease: 'L', pos: 0, rec: { t: 'do', name: 'charge', value: 'ch_1' } },
      reply: 'lease',
      after: 'unchanged',
    },
    {
      name: 'record under a lost lease',
      doc: run({ a: running('X') }),
      cmd: { type: 'record', step: 'a', lease: 'L', pos: 0, rec: { t: 'do', name: 'c' } },
      reply: 'lease',
      after: 'unchanged',
    },
    {
      name: 'record in an ended run',
      doc: run({ a: running() }, { status: 'canceled' }),
      cmd: { type: 'record', step: 'a', lease: 'L', pos: 0, rec: { t: 'do', name: 'c' } },
      reply: 'ended',
      after: 'unchanged',
    },
    {
      name: 'set a state key (even __proto__, as an own property)',
      doc: run({ a: running() }),
      cmd: { type: 'setState', step: 'a', lease: 'L', key: '__proto__', value: { x: 1 } },
      reply: 'ok',
    },
  ])('$name', check)

  it('setState keeps __proto__ as an own key', () => {
    const doc = run({ a: running() })
    transition(doc, { type: 'setState', step: 'a', lease: 'L', key: '__proto__', value: 1 }, env)
    expect(Object.hasOwn(doc.state, '__proto__')).toBe(true)
    expect(JSON.parse(JSON.stringify(doc)).state).toEqual(JSON.parse('{"__proto__":1}'))
  })
})

describe('repairOutputs', () => {
  it("repeats the outputs of the job's completed step and names the running one to take over", () => {
    const doc = run({ a: { ...done(), owner: 'J' }, b: running('L', 'J'), c: { status: 'ready' } })
    const { outputs, running: r } = repairOutputs(doc, 'J', env)
    expect(outputs.map((o) => waves({ ...o, reply: null }))).toEqual([[['step.completed sc~a']]])
    expect(outputs.map((o) => jobs({ ...o, reply: null }))).toEqual([['+ s~r~c~1']])
    expect(r).toBe('b')
  })

  it('announces again the await a suspended step waits on, and resumes it when settled', () => {
    const doc = run({
      a: { status: 'suspended', waitingOn: 0, owner: 'J', records: [{ t: 'time', at: 1, state: 'resolved', since: 0, attempt: 1 }] },
    })
    const { outputs, running: r } = repairOutputs(doc, 'J', env)
    expect(outputs.map((o) => waves({ ...o, reply: null }))).toEqual([[['step.await.time sa~a~0']]])
    expect(outputs.map((o) => jobs({ ...o, reply: null }))).toEqual([['+ r~r~a~1~0']])
    expect(r).toBeUndefined()
  })

  it('a job delivered again announces the pending awaits its execution recorded in a step another job holds now', () => {
    const child = { t: 'run', flow: 'kid', childRunId: 'k1', input: { n: 1 }, state: 'pending', since: 0, attempt: 1, by: 'J' } as const
    const other = { t: 'time', at: 99_000, state: 'pending', since: 0, attempt: 1, by: 'R' } as const
    const doc = run({ a: { status: 'suspended', waitingOn: 1, waitingAll: [0, 1], owner: 'R', records: [child, other] } })
    expect(transition(doc, claim('a', 1, 'J'), env).reply).toEqual({ kind: 'repair' })
    expect(transition(doc, claim('a', 1, 'X'), env).reply).toEqual({ kind: 'noop' })
    const { outputs, running: r } = repairOutputs(doc, 'J', env)
    expect(outputs.map((o) => waves({ ...o, reply: null }))).toEqual([[['step.await.run sa~a~0']]])
    expect(outputs.map((o) => o.children?.map((c) => c.runId))).toEqual([['k1']])
    expect(r).toBeUndefined()
  })

  it("announces a suspended step's awaits as one output: one wave, their children started together, the settled one's resume", () => {
    const kid = (n: number, state: 'pending' | 'resolved') =>
      ({ t: 'run', flow: 'kid', childRunId: `k${n}`, input: { n }, state, since: 0, attempt: 1 }) as const
    const doc = run({
      a: {
        status: 'suspended',
        waitingOn: 0,
        waitingAll: [0, 1, 2],
        owner: 'J',
        records: [kid(0, 'pending'), kid(1, 'resolved'), kid(2, 'pending')],
      },
    })
    const { outputs } = repairOutputs(doc, 'J', env)
    expect(outputs.map((o) => waves({ ...o, reply: null }))).toEqual([
      [['step.await.run sa~a~0', 'step.await.run sa~a~1', 'step.await.run sa~a~2']],
    ])
    expect(outputs.map((o) => o.children?.map((c) => c.runId))).toEqual([['k0', 'k2']])
    expect(outputs.map((o) => jobs({ ...o, reply: null }))).toEqual([['+ r~r~a~1~1']])
  })
})

describe('awaits made at once (parallel awaits)', () => {
  const trig = (id: string, state: 'pending' | 'resolved' = 'pending') =>
    ({ t: 'trigger', type: 'ok', id, state, since: 0, attempt: 1 }) as const

  it('announce records the awaits of `more` after the first, with the markers between them, in one write', () => {
    const doc = run({ a: running() })
    const t = transition(
      doc,
      {
        type: 'announce',
        step: 'a',
        lease: 'L',
        pos: 0,
        rec: trig('T0'),
        suspend: false,
        marks: [{ pos: 1, rec: { t: 'do', name: 'patched:x' } }],
        more: [
          { pos: 2, rec: trig('T2') },
          { pos: 3, rec: { t: 'event', kind: 'paid', state: 'pending', since: 0, attempt: 1 } },
        ],
      },
      env,
    )
    expect(t.reply).toBe('ok')
    expect(doc.steps.a?.records.map((r) => (r.t === 'do' ? r.name : r.t))).toEqual(['trigger', 'patched:x', 'trigger', 'event'])
    expect(waves(t)).toEqual([['step.await.trigger sa~a~0'], ['step.await.trigger sa~a~2'], ['step.await.event sa~a~3']])
    expect(t.matchEvents).toBe(true)
  })

  it('resolveTriggers resolves each once (a repeated id conflicts) and queues one resume job for the step', () => {
    const doc = run({ a: { status: 'suspended', waitingOn: 0, waitingAll: [0, 1], records: [trig('T0'), trig('T1')] } })
    const t = transition(
      doc,
      {
        type: 'resolveTriggers',
        triggers: [
          { triggerId: 'T1', value: 1 },
          { triggerId: 'T0', value: 0 },
          { triggerId: 'T1', value: 2 },
          { triggerId: 'T9', value: 9 },
        ],
      },
      env,
    )
    expect(t.reply).toEqual([
      { step: 'a', pos: 1, attempt: 1, resume: true },
      { step: 'a', pos: 0, attempt: 1, resume: true },
      { step: 'a', pos: 1, attempt: 1, resume: true, conflict: 'resolved' },
      null,
    ])
    expect(doc.steps.a?.records.map((r) => (r.t === 'trigger' ? r.value : undefined))).toEqual([0, 1])
    expect(jobs(t)).toEqual(['+ r~r~a~1~0'])
  })

  it('a trigger of a run that ended (failed by another step: its own await still pending) conflicts as canceled and changes nothing', () => {
    for (const status of ['failed', 'completed', 'canceled'] as const) {
      const doc = run({ a: { status: 'suspended', waitingOn: 0, records: [trig('T0')] } }, { status })
      const before = structuredClone(doc)
      const t = transition(doc, { type: 'resolveTriggers', triggers: [{ triggerId: 'T0', value: 1 }] }, env)
      expect(t.reply, status).toEqual([{ step: 'a', pos: 0, attempt: 1, resume: false, conflict: 'canceled' }])
      expect(doc).toEqual(before)
      expect(jobs(t)).toEqual([])
      expect(t.appends).toEqual([])
    }
  })

  it('suspend resolves a timer already due instead of waiting for its job: the step goes on', () => {
    const due = { t: 'time', at: NOW - 1, state: 'pending', since: 0, attempt: 1 } as const
    const later = { t: 'time', at: NOW + 1000, state: 'pending', since: 0, attempt: 1 } as const
    const doc = run({ a: { ...running(), records: [due, later] } })
    const t = transition(doc, { type: 'suspend', step: 'a', lease: 'L', positions: [0, 1] }, env)
    expect(t.reply).toEqual([{ pos: 0, rec: { ...due, state: 'resolved', doneAt: NOW } }])
    expect(waves(t)).toEqual([['step.await.time sa~a~0'], ['step.resumed su~a~0']])
    expect(doc.steps.a?.status).toBe('running')
  })

  it('suspend times out an event or trigger await past its timeout (its job may be lost): the step goes on; an invoke is left to its job', () => {
    const event = { t: 'event', kind: 'paid', state: 'pending', since: 0, attempt: 1, timeoutAt: NOW - 1 } as const
    const other = { t: 'event', kind: 'paid', state: 'pending', since: 0, attempt: 1 } as const
    const doc = run({ a: { ...running(), records: [{ ...event }, { ...other }] } })
    const t = transition(doc, { type: 'suspend', step: 'a', lease: 'L', positions: [0, 1] }, env)
    expect(t.reply).toEqual([{ pos: 0, rec: { ...event, state: 'timedOut', doneAt: NOW } }])
    expect(waves(t)).toEqual([['step.await.event sa~a~0'], ['step.await.timeout st~a~0']])
    expect(doc.steps.a?.status).toBe('running')
    // the kind stays watched: another await of it is pending
    expect(t.unwatch).toEqual([])
    const alone = run({ a: { ...running(), records: [{ ...event }] } })
    expect(transition(alone, { type: 'suspend', step: 'a', lease: 'L', positions: [0] }, env).unwatch).toEqual(['paid'])
    const trigger = run({ a: { ...running(), records: [{ ...trig('T0'), timeoutAt: NOW }] } })
    expect(transition(trigger, { type: 'suspend', step: 'a', lease: 'L', positions: [0] }, env).reply).toEqual([
      { pos: 0, rec: { ...trig('T0'), timeoutAt: NOW, state: 'timedOut', doneAt: NOW } },
    ])
    const invoke = {
      t: 'run',
      flow: 'child',
      childRunId: 'c1',
      input: {},
      state: 'pending',
      since: 0,
      attempt: 1,
      timeoutAt: NOW - 1,
    } as const
    const kid = run({ a: { ...running(), records: [{ ...invoke }] } })
    expect(transition(kid, { type: 'suspend', step: 'a', lease: 'L', positions: [0] }, env).reply).toBe('suspended')
  })

  it('awaitJobs decides the timers of a run that came together as one after the other: one claims, the rest wait for its suspend', () => {
    const due = (pos: number) => ({ t: 'time', at: NOW - 1, state: 'pending', since: 0, attempt: 1, by: `w${pos}` }) as const
    const doc = run({ a: { status: 'suspended', waitingOn: 0, waitingAll: [0, 1, 2], records: [due(0), due(1), due(2)] } })
    const timer = (pos: number) => ({ job: 'time', step: 'a', pos, jobId: `t~r~a~1~${pos}`, lease: `N${pos}` }) as const
    const t = transition(doc, { type: 'awaitJobs', jobs: [timer(1), timer(0), timer(2)] }, env)
    // the first claims the step (its own await resolved); the others, due while it runs, are left to its next suspend
    expect(t.reply).toEqual([{ kind: 'claimed', lease: 'N1', takeover: false }, { kind: 'noop' }, { kind: 'noop' }])
    expect(doc.steps.a?.status).toBe('running')
    expect(doc.steps.a?.records.map((r) => (r.t === 'time' ? r.state : r.t))).toEqual(['pending', 'resolved', 'pending'])
    expect(waves(t)).toEqual([['step.await.time sa~a~1'], ['step.resumed su~a~1']])
    expect(t.behind?.appends.map((a) => a.fence?.token)).toEqual(['N1', 'N1'])
  })

  it("an await's announcement is fenced by the run: refused by the store once the run ended, never appended after its terminal event", () => {
    const doc = run({ a: running() })
    const rec = { t: 'run', flow: 'child', childRunId: 'c1', input: {}, state: 'pending', since: NOW, attempt: 1 } as const
    const t = transition(doc, { type: 'announce', step: 'a', lease: 'L', pos: 0, suspend: true, rec }, env)
    expect(t.appends).toEqual([[expect.objectContaining({ kind: 'step.await.run', fence: RUN_FENCE, mayRefuse: true })]])
  })
})
