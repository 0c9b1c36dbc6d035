import { describe, expect, it } from 'vitest'
import type { Append, Command, JobOut, Transition } from './commands.js'
import { repairOutputs, transition } from './index.js'
import type { Env } from './outputs.js'
import { newRunDoc, type RunDoc, type StepDoc } from './runDoc.js'

// The machine as tables: for each command and state, the reply, the document after, the
// appends (kind and key, wave by wave) and the jobs. No store, queue or clock.

const FLOW = { name: 'f', steps: { a: {}, b: { needs: ['a'] }, c: { needs: ['a'] }, d: { needs: ['b', 'c'] } } }
const NOW = 10_000
const env: Env = { runId: 'r', now: NOW, flow: FLOW }

/** A run of FLOW with some steps changed. */
function run(steps: Record<string, Partial<StepDoc>> = {}, over: Partial<RunDoc> = {}): RunDoc {
  const doc = newRunDoc(FLOW, 1000, 0)
  for (const [name, s] of Object.entries(steps)) Object.assign(doc.steps[name] as StepDoc, s)
  return Object.assign(doc, over)
}
const running = (lease = 'L', owner = 'J'): Partial<StepDoc> => ({ status: 'running', lease, owner, startedAt: 5000 })
const done = (result?: unknown): Partial<StepDoc> => ({ status: 'completed', result, duration: 1 })
/** Appends as `kind key`, wave by wave. */
const waves = (t: Transition) => t.appends.map((w) => w.map(show))
const show = (a: Append) => `${a.kind} ${a.key}${a.after ? ` after ${a.after}` : ''}${a.fence ? ` fenced ${a.fence.token}` : ''}`
const jobs = (t: Transition) =>
  t.jobs.map((j: JobOut) => (j.op === 'remove' ? `- ${j.id}` : `+ ${j.id}${j.at === undefined ? '' : ` @${j.at}`}`))

interface Row {
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

function check(row: Row) {
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

const claim = (step: string, attempt = 1, jobId = 'J'): Command => ({ type: 'claimStep', step, attempt, jobId, lease: 'N' })

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
      after: { status: 'completed', endedAt: NOW },
      appends: [['step.completed sc~a', 'step.completed sc~b', 'step.completed sc~c', 'step.completed sc~d'], ['flow.completed fe']],
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
      after: { status: 'failed', error: 'boom', steps: { a: { status: 'failed' } } },
      appends: [['step.failed sf~a~3'], [], ['flow.failed fe']],
      ended: true,
    },
  ])('$name', check)
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
      name: 'events: no fitting event, nothing changes',
      doc: eventRun(),
      cmd: { type: 'matchEvents', events: new Map([['other', [ev('e1', { id: 2 })]]]) },
      reply: 0,
      after: 'unchanged',
    },
  ])('$name', check)
})

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
      name: 'a due time job resolves its await and claims the step: announcement, then step.resumed',
      doc: run({ a: { status: 'suspended', waitingOn: 0, records: [{ t: 'time', at: NOW, state: 'pending', since: 0, attempt: 1 }] } }),
      cmd: job('time'),
      reply: { kind: 'claimed', lease: 'N', takeover: false },
      after: { steps: { a: { status: 'running', lease: 'N', records: [{ state: 'resolved', doneAt: NOW }] } } },
      appends: [['step.await.time sa~a~0'], ['step.resumed su~a~0']],
    },
    {
      name: 'a due timeout times the await out; its step resumes (to throw AwaitTimeoutError) and stops watching',
      doc: timeoutRun(),
      cmd: job('timeout', 'x~r~a~1~0'),
      reply: { kind: 'claimed', lease: 'N', takeover: false },
      after: { steps: { a: { records: [{ state: 'timedOut' }] } } },
      appends: [['step.await.event sa~a~0'], ['step.await.timeout st~a~0']],
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
      name: 'suspend on a resolved await: its record, with step.resumed',
      doc: run({
        a: { ...running(), records: [{ t: 'trigger', type: 'ok', id: 'T', state: 'resolved', value: 7, since: 0, doneAt: 5, attempt: 1 }] },
      }),
      cmd: { type: 'suspend', step: 'a', lease: 'L', positions: [0] },
      reply: [{ pos: 0, rec: { t: 'trigger', type: 'ok', id: 'T', state: 'resolved', value: 7, since: 0, doneAt: 5, attempt: 1 } }],
      after: 'unchanged',
      appends: [['step.resumed su~a~0']],
    },
    {
      name: 'record a ctx.do result',
      doc: run({ a: running() }),
      cmd: { type: 'record', step: 'a', lease: 'L', pos: 0, rec: { t: 'do', name: 'charge', value: 'ch_1' } },
      reply: 'ok',
      after: { steps: { a: { records: [{ t: 'do', name: 'charge', value: 'ch_1' }] } } },
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
})
