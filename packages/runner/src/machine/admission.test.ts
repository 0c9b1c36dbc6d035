import { describe, expect, it } from 'vitest'
import type { Command, JobOut, Transition } from './commands.js'
import { queueNew, runsHandler, transition } from './index.js'
import { type Env, readyJobs } from './outputs.js'
import { newRunDoc, type RunDoc, type StepDoc } from './runDoc.js'

// Flow control in the machine, as tables: admit, queue, queueStep, wake, and cancel of a queued run.

const FLOW = { name: 'f', steps: { a: {}, b: { needs: ['a'] } } }
const env: Env = { runId: 'r', now: 10_000, flow: FLOW }

function queuedRun(reason: 'concurrency' | 'rateLimit' | 'debounce' = 'concurrency', key?: string): RunDoc {
  const doc = newRunDoc(FLOW, 1000, 0)
  queueNew(doc, { reason, key })
  return doc
}
function runningRun(steps: Record<string, Partial<StepDoc>> = {}): RunDoc {
  const doc = newRunDoc(FLOW, 1000, 0)
  for (const [name, s] of Object.entries(steps)) Object.assign(doc.steps[name] as StepDoc, s)
  return doc
}
const appends = (t: Transition) => t.appends.map((w) => w.map((a) => `${a.kind} ${a.key} ${JSON.stringify(a.data)}`))
const jobs = (t: Transition) => t.jobs.map((j: JobOut) => (j.op === 'remove' ? `- ${j.id}` : `+ ${j.name} ${j.id}`))
const run = (doc: RunDoc | null, cmd: Command) => transition(doc, cmd, env)

describe('queueNew', () => {
  it('marks a fresh run queued and gives flow.queued #1 (key only when there is one, until as ISO)', () => {
    const doc = newRunDoc(FLOW, 1000, 0)
    const a = queueNew(doc, { reason: 'rateLimit', key: 'k', until: 5000 })
    expect(doc).toMatchObject({ status: 'queued', queued: { reason: 'rateLimit', key: 'k', n: 1 } })
    expect(a).toEqual({ kind: 'flow.queued', data: { reason: 'rateLimit', key: 'k', until: '1970-01-01T00:00:05.000Z' }, key: 'fq~1' })
    expect(queueNew(newRunDoc(FLOW, 1, 0), { reason: 'concurrency', key: '' }).data).toEqual({ reason: 'concurrency' })
  })
})

describe('admit', () => {
  it('a queued run runs: its ready steps get their jobs; the debounced input is kept', () => {
    const doc = queuedRun('debounce', 'u')
    const t = run(doc, { type: 'admit', input: { v: 2 } })
    expect(t.reply).toBe('admitted')
    expect(doc.status).toBe('running')
    expect(doc.queued).toBeUndefined()
    expect(doc.input).toEqual({ v: 2 })
    expect(jobs(t)).toEqual(['+ step s~r~a~1'])
    expect(appends(t)).toEqual([])
  })
  it.each([
    ['a running run: nothing', () => runningRun(), 'running', false],
    ['an ended run: ended, its slots to give back', () => Object.assign(runningRun(), { status: 'canceled' as const }), 'ended', true],
    ['no run', () => null, 'missing', false],
  ])('%s', (_n, make, reply, ended) => {
    const doc = make()
    const before = JSON.stringify(doc)
    const t = run(doc, { type: 'admit' })
    expect(t.reply).toBe(reply)
    expect(JSON.stringify(doc)).toBe(before)
    expect(t.jobs).toEqual([])
    expect(t.ended === true).toBe(ended)
    expect(t.release).toBe(ended ? 'f' : undefined)
  })
})

describe('queue', () => {
  it('the same reason and key again: nothing logged', () => {
    const doc = queuedRun('concurrency', 'k')
    const t = run(doc, { type: 'queue', reason: 'concurrency', key: 'k' })
    expect(t.reply).toBe(true)
    expect(appends(t)).toEqual([])
  })
  it('another reason: flow.queued #2, and a debounced run keeps its settled input', () => {
    const doc = queuedRun('debounce', 'u')
    const t = run(doc, { type: 'queue', reason: 'concurrency', key: 't', input: { v: 3 } })
    expect(appends(t)).toEqual([['flow.queued fq~2 {"reason":"concurrency","key":"t"}']])
    expect(doc.queued).toEqual({ reason: 'concurrency', key: 't', n: 2 })
    expect(doc.input).toEqual({ v: 3 })
  })
  it('a run that is not queued: false, nothing', () => {
    expect(run(runningRun(), { type: 'queue', reason: 'concurrency' }).reply).toBe(false)
  })
})

describe('queueStep, wake and unwait', () => {
  it('a step job without a slot: step.queued once per attempt and record position; the job and its slot token are kept', () => {
    const doc = runningRun({ a: { status: 'ready' } })
    const t = run(doc, { type: 'queueStep', step: 'a', attempt: 1, key: 'k', job: 'step', slot: 'T' })
    expect(t.reply).toBe(true)
    expect(appends(t)).toEqual([['step.queued sq~a~1~0 {"reason":"concurrency","key":"k"}']])
    expect(doc.steps.a?.status).toBe('ready')
    expect(doc.steps.a?.wait).toEqual({ job: 'step', slot: 'T' })
    expect(run(doc, { type: 'wake', step: 'a', slot: 'other' }).reply).toBe(false)
    const w = run(doc, { type: 'wake', step: 'a', slot: 'T' })
    expect(w.reply).toBe(true)
    expect(jobs(w)).toEqual(['+ step s~r~a~1~10000'])
    expect(w.jobs[0]).toMatchObject({ data: { runId: 'r', step: 'a', attempt: 1, slot: 'T' } })
    expect(doc.steps.a?.wait).toBeUndefined()
    // the wait ended: neither a second wake nor the job's own unwait goes on
    expect(run(doc, { type: 'wake', step: 'a', slot: 'T' }).reply).toBe(false)
    expect(run(doc, { type: 'unwait', step: 'a', slot: 'T' }).reply).toBe(false)
  })
  it('unwait: the waiting job ends its own wait, and a wake after it finds none', () => {
    const doc = runningRun({ a: { status: 'ready', wait: { job: 'step', slot: 'T' } } })
    expect(run(doc, { type: 'unwait', step: 'a', slot: 'T' }).reply).toBe(true)
    expect(doc.steps.a?.wait).toBeUndefined()
    expect(run(doc, { type: 'wake', step: 'a', slot: 'T' }).reply).toBe(false)
  })
  it('a resume job waits and is woken as a resume job of its await', () => {
    const doc = runningRun({
      a: { status: 'suspended', attempt: 2, records: [{ t: 'time', at: 1, state: 'resolved', since: 0, attempt: 1 }] },
    })
    run(doc, { type: 'queueStep', step: 'a', attempt: 2, job: 'resume', pos: 0, slot: 'T' })
    expect(jobs(run(doc, { type: 'wake', step: 'a', slot: 'T' }))).toEqual(['+ resume r~r~a~1~0~10000'])
  })
  it('another attempt, or an ended run: refused', () => {
    expect(run(runningRun({ a: { attempt: 2 } }), { type: 'queueStep', step: 'a', attempt: 1, job: 'step', slot: 'T' }).reply).toBe(false)
    const ended = Object.assign(runningRun({ a: { wait: { job: 'step', slot: 'T' } } }), { status: 'failed' as const })
    expect(run(ended, { type: 'wake', step: 'a', slot: 'T' }).reply).toBe(false)
  })
  it('a claim by another job leaves the wait (its wake runs a job that finds the step taken and gives its slot back)', () => {
    const doc = runningRun({ a: { status: 'ready', wait: { job: 'step', slot: 'T' } } })
    run(doc, { type: 'claimStep', step: 'a', attempt: 1, jobId: 'J', lease: 'L' })
    expect(doc.steps.a?.wait).toEqual({ job: 'step', slot: 'T' })
  })
  it('a re-delivered job that waits for a slot to take over its running step: the job that ends the wait takes it over', () => {
    const owned = () => runningRun({ a: { status: 'running', owner: 's~r~a~1', lease: 'old' } })
    const woken = owned()
    run(woken, { type: 'queueStep', step: 'a', attempt: 1, job: 'step', slot: 'T', jobId: 's~r~a~1' })
    expect(woken.steps.a?.wait).toEqual({ job: 'step', slot: 'T', owner: 's~r~a~1' })
    const w = run(woken, { type: 'wake', step: 'a', slot: 'T' })
    expect(jobs(w)).toEqual(['+ step s~r~a~1~10000'])
    expect(woken.steps.a?.owner).toBe('s~r~a~1~10000')
    const claimed = run(woken, { type: 'claimStep', step: 'a', attempt: 1, jobId: 's~r~a~1~10000', lease: 'new' })
    expect(claimed.reply).toEqual({ kind: 'claimed', lease: 'new', takeover: true })
    // a backstop ends the wait itself
    const backstop = owned()
    run(backstop, { type: 'queueStep', step: 'a', attempt: 1, job: 'step', slot: 'T', jobId: 's~r~a~1' })
    expect(run(backstop, { type: 'unwait', step: 'a', slot: 'T', jobId: 's~r~a~1~b9000' }).reply).toBe(true)
    expect(backstop.steps.a?.owner).toBe('s~r~a~1~b9000')
    // a job that does not own the running step hands nothing over
    const other = owned()
    run(other, { type: 'queueStep', step: 'a', attempt: 1, job: 'step', slot: 'T', jobId: 's~r~a~1~5' })
    run(other, { type: 'wake', step: 'a', slot: 'T' })
    expect(other.steps.a?.owner).toBe('s~r~a~1')
  })
  it('a waiting ready step gets no step job from readyJobs (its wake queues it)', () => {
    const doc = runningRun({ a: { status: 'ready', wait: { job: 'step', slot: 'T' } }, b: { status: 'ready' } })
    expect(readyJobs('r', doc).map((j) => j.id)).toEqual(['s~r~b~1'])
  })
})

describe('cancel of a queued run', () => {
  it('is canceled (never ran): flow.canceled, ended, its slots and place in line given back', () => {
    const doc = queuedRun()
    const t = run(doc, { type: 'cancel', reason: 'no longer needed' })
    expect(t.reply).toBe('canceled')
    expect(doc.status).toBe('canceled')
    expect(doc.queued).toBeUndefined()
    expect(t.appends.at(-1)?.map((a) => a.kind)).toEqual(['flow.canceled'])
    expect(t.ended).toBe(true)
    expect(t.release).toBe('f')
  })
})

describe('runsHandler', () => {
  const step = (id: string, attempt = 1) => ({ id, name: 'step', data: { step: 'a', attempt } })
  const resume = (id: string, pos: number) => ({ id, name: 'resume', data: { step: 'a', pos } })
  const time = { t: 'time', state: 'pending', at: 20_000, since: 10_000, attempt: 1 } as const
  it('a step job runs a ready step of its attempt, or one due to retry; not one of another attempt, nor one not due yet', () => {
    expect(runsHandler(runningRun({ a: { status: 'ready' } }), step('j'), 10_000)).toBe(true)
    expect(runsHandler(runningRun({ a: { status: 'ready', attempt: 2 } }), step('j', 1), 10_000)).toBe(false)
    expect(runsHandler(runningRun({ a: { status: 'retrying', attempt: 2, nextRetryAt: 9000 } }), step('j', 2), 10_000)).toBe(true)
    expect(runsHandler(runningRun({ a: { status: 'retrying', attempt: 2, nextRetryAt: 11_000 } }), step('j', 2), 10_000)).toBe(false)
  })
  it('a job re-delivered takes over the step its execution was running; another job of a running step does not run it', () => {
    expect(runsHandler(runningRun({ a: { status: 'running', owner: 'j' } }), step('j'), 10_000)).toBe(true)
    expect(runsHandler(runningRun({ a: { status: 'running', owner: 'k' } }), step('j'), 10_000)).toBe(false)
    expect(runsHandler(runningRun({ a: { status: 'running', owner: 'j' } }), resume('j', 0), 10_000)).toBe(true)
  })
  it('a step job of a step that suspended or ended only repairs (its own) or does nothing', () => {
    for (const status of ['suspended', 'completed', 'failed'] as const) {
      expect(runsHandler(runningRun({ a: { status, owner: 'j', waitingOn: 0, records: [{ ...time }] } }), step('j'), 10_000)).toBe(false)
      expect(runsHandler(runningRun({ a: { status, owner: 'k', waitingOn: 0, records: [{ ...time }] } }), step('j'), 10_000)).toBe(false)
    }
  })
  it('an await job runs the step that waits on its await; not one waiting on another, nor a job whose own execution suspended it', () => {
    const waiting = (owner: string) =>
      runningRun({ a: { status: 'suspended', owner, waitingOn: 1, records: [{ t: 'do', name: 'x' }, { ...time }] } })
    expect(runsHandler(waiting('k'), resume('j', 1), 10_000)).toBe(true)
    expect(runsHandler(waiting('k'), resume('j', 0), 10_000)).toBe(false)
    expect(runsHandler(waiting('j'), resume('j', 1), 10_000)).toBe(false)
  })
  it('nothing runs in a run that does not run', () => {
    const doc = runningRun({ a: { status: 'ready' } })
    doc.status = 'canceled'
    expect(runsHandler(doc, step('j'), 10_000)).toBe(false)
    expect(runsHandler(queuedRun(), step('j'), 10_000)).toBe(false)
  })
})
