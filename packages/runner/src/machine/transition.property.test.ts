import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { Command } from './commands.js'
import { transition } from './index.js'
import { endFence } from './keys.js'
import { type AwaitRec, type FlowGraph, newRunDoc, type RunDoc } from './runDoc.js'

// Random command sequences against one run: whatever happens, the machine keeps its invariants.
// Commands are drawn as templates and filled in from the current document, so that leases and
// job ids often match what the run holds (the interesting cases) and sometimes do not.

const FLOW: FlowGraph = { name: 'f', steps: { a: {}, b: { needs: ['a'] }, c: { needs: ['a'] }, d: { needs: ['b', 'c'] } } }
const STEPS = ['a', 'b', 'c', 'd'] as const
const JOBS = ['J1', 'J2', 'J3'] as const

const template = fc.record({
  type: fc.constantFrom(
    'claimStep',
    'claimStep',
    'complete',
    'complete',
    'fail',
    'record',
    'setState',
    'announceTime',
    'announceTrigger',
    'announceEvent',
    'suspend',
    'awaitTime',
    'awaitTimeout',
    'awaitResume',
    'resolveTrigger',
    'announceRun',
    'announceRun',
    'suspendAll',
    'resolveChildren',
    'resolveChildren',
    'matchEvents',
    'cancel',
    'takeOver',
  ),
  step: fc.constantFrom(...STEPS),
  job: fc.constantFrom(...JOBS),
  /** Use the lease the step holds (else a stale one). */
  current: fc.boolean(),
  retry: fc.option(fc.integer({ min: 0, max: 50 }), { nil: undefined }),
  inline: fc.boolean(),
  dt: fc.integer({ min: 0, max: 100 }),
  n: fc.integer({ min: 0, max: 3 }),
})
type Template = typeof template extends fc.Arbitrary<infer T> ? T : never

let leases = 0
function toCommand(t: Template, doc: RunDoc, now: number): Command {
  const s = doc.steps[t.step]
  const lease = t.current && s?.lease ? s.lease : `stale${t.n}`
  const fresh = `L${++leases}`
  const pos = s?.records.length ?? 0
  const awaitPos = Math.min(t.n, Math.max(0, pos - 1))
  switch (t.type) {
    case 'claimStep':
      return { type: 'claimStep', step: t.step, attempt: s?.attempt ?? 1, jobId: t.job, lease: fresh }
    case 'takeOver':
      return { type: 'takeOver', step: t.step, jobId: t.job, lease: fresh }
    case 'complete':
      return { type: 'complete', step: t.step, lease, result: t.n, next: t.inline ? { jobId: t.job, lease: fresh } : undefined }
    case 'fail':
      return { type: 'fail', step: t.step, lease, attempt: s?.attempt ?? 1, error: 'boom', retryDelayMs: t.retry }
    case 'record':
      return { type: 'record', step: t.step, lease, pos: t.current ? pos : t.n, rec: { t: 'do', name: 'x', value: t.n } }
    case 'setState':
      return { type: 'setState', step: t.step, lease, key: `k${t.n}`, value: t.dt }
    case 'announceTime':
      return {
        type: 'announce',
        step: t.step,
        lease,
        pos,
        suspend: true,
        rec: { t: 'time', at: now + t.dt, state: 'pending', since: now, attempt: s?.attempt ?? 1 },
      }
    case 'announceTrigger': {
      const rec: AwaitRec = {
        t: 'trigger',
        type: 'x',
        id: `T${leases}`,
        state: 'pending',
        since: now,
        timeoutAt: now + t.dt,
        attempt: s?.attempt ?? 1,
      }
      return { type: 'announce', step: t.step, lease, pos, suspend: false, rec }
    }
    case 'announceEvent':
      return {
        type: 'announce',
        step: t.step,
        lease,
        pos,
        suspend: false,
        rec: { t: 'event', kind: `k${t.n % 2}`, state: 'pending', since: now, attempt: s?.attempt ?? 1 },
      }
    case 'announceRun': {
      const rec: AwaitRec = {
        t: 'run',
        flow: 'kid',
        childRunId: `C${leases}`,
        input: t.n,
        state: 'pending',
        since: now,
        attempt: s?.attempt ?? 1,
      }
      return { type: 'announce', step: t.step, lease, pos, suspend: t.inline, rec }
    }
    case 'suspend':
      return { type: 'suspend', step: t.step, lease, positions: [awaitPos] }
    case 'suspendAll': {
      // every await of the step (parallel awaits: a Promise.all of them)
      const positions = (s?.records ?? []).flatMap((r, i) => (r.t === 'do' ? [] : [i]))
      return { type: 'suspend', step: t.step, lease, positions: positions.length > 0 ? positions : [awaitPos] }
    }
    case 'resolveChildren': {
      // some children of the run end (now and then one twice, or one the run does not know)
      const ids = Object.values(doc.steps).flatMap((x) => x.records.flatMap((r) => (r.t === 'run' ? [r.childRunId] : [])))
      const pick = (i: number) => ids[(t.n + i * (t.dt + 1)) % Math.max(1, ids.length)] ?? 'none'
      const ends = [0, 1, 2]
        .slice(0, 1 + (t.dt % 3))
        .map((i) => ({ childRunId: pick(i), outcome: { status: 'completed' as const, result: i } }))
      return {
        type: 'resolveChildren',
        ends: t.retry === 0 ? [...ends, { childRunId: 'unknown', outcome: { status: 'failed' as const } }] : ends,
      }
    }
    case 'awaitTime':
      return { type: 'awaitJob', job: 'time', step: t.step, pos: awaitPos, jobId: t.job, lease: fresh }
    case 'awaitTimeout':
      return { type: 'awaitJob', job: 'timeout', step: t.step, pos: awaitPos, jobId: t.job, lease: fresh }
    case 'awaitResume':
      return { type: 'awaitJob', job: 'resume', step: t.step, pos: awaitPos, jobId: t.job, lease: fresh }
    case 'resolveTrigger': {
      const ids = Object.values(doc.steps).flatMap((x) => x.records.flatMap((r) => (r.t === 'trigger' ? [r.id] : [])))
      return { type: 'resolveTrigger', triggerId: ids[t.n % Math.max(1, ids.length)] ?? 'none', value: t.dt }
    }
    case 'matchEvents': {
      const events = [0, 1, 2].map((i) => ({ id: `e${t.n}-${i}`, ts: '2026-01-01T00:00:00.000Z', kind: `k${i % 2}`, data: i }))
      return {
        type: 'matchEvents',
        events: new Map([
          ['k0', events.filter((e) => e.kind === 'k0')],
          ['k1', events.filter((e) => e.kind === 'k1')],
        ]),
      }
    }
    default:
      return { type: 'cancel', reason: 'r' }
  }
}

/** The settled await positions of a document: step/pos → state. */
const settled = (doc: RunDoc) => {
  const out = new Map<string, string>()
  for (const [name, s] of Object.entries(doc.steps))
    s.records.forEach((r, i) => {
      if (r.t === 'do' || r.state === 'pending') return
      // `quiet` and `by` are bookkeeping, not the outcome: a resolution whose step.resumed is still to
      // come, an announcer still unconfirmed (a resume that announces it again drops `by`)
      const { quiet: _, by: __, ...outcome } = r as typeof r & { quiet?: true }
      out.set(`${name}/${i}`, JSON.stringify(outcome))
    })
  return out
}

describe('transition (random command sequences)', () => {
  it('keeps its invariants', () => {
    fc.assert(
      fc.property(fc.array(template, { minLength: 1, maxLength: 60 }), (templates) => {
        const doc = newRunDoc(FLOW, 0, 0)
        let now = 1
        /** Steps a resume job was queued for since they last suspended. */
        const woken = new Set<string>()
        for (const t of templates) {
          now += t.dt
          const before = structuredClone(doc)
          const cmd = toCommand(t, doc, now)
          const out = transition(doc, cmd, { runId: 'r', now, flow: FLOW })
          // an ended run never changes again
          if (before.status !== 'running') expect(doc).toEqual(before)
          for (const name of STEPS) {
            const b = before.steps[name]!
            const a = doc.steps[name]!
            // attempts only grow; records are append-only (a recorded call never changes kind or name)
            expect(a.attempt).toBeGreaterThanOrEqual(b.attempt)
            expect(a.records.length).toBeGreaterThanOrEqual(b.records.length)
            b.records.forEach((r, i) => {
              expect(a.records[i]?.t).toBe(r.t)
            })
            // while the run runs, a running step has a lease and an owner; nothing else holds a lease
            if (a.status === 'running' && doc.status === 'running') expect(a.lease && a.owner).toBeTruthy()
            else expect(a.lease).toBeUndefined()
            // a step runs only once its needs completed
            if (a.status === 'running' || a.status === 'completed')
              for (const n of FLOW.steps[name]?.needs ?? []) expect(doc.steps[n]?.status).toBe('completed')
          }
          // an await resolves, times out or is canceled at most once: a settled record never changes
          const was = settled(before)
          const is = settled(doc)
          for (const [k, v] of was) expect(is.get(k)).toBe(v)
          // no external event is consumed twice
          expect(new Set(doc.consumed).size).toBe(doc.consumed.length)
          // a completed run has every step completed; a claim names the lease the step now holds
          if (doc.status === 'completed') expect(Object.values(doc.steps).every((s) => s.status === 'completed')).toBe(true)
          const reply = out.reply as { kind?: string; lease?: string; next?: string } | undefined
          if (reply?.kind === 'claimed' && 'step' in cmd) expect(doc.steps[cmd.step]?.lease).toBe(reply.lease)
          if (reply?.next !== undefined) expect(doc.steps[reply.next]?.lease).toBe(reply.lease)
          // no lost wake-up: a suspended step waiting on a child's resolved await has a resume job on its way
          for (const name of STEPS)
            if (before.steps[name]?.status !== 'suspended' && doc.steps[name]?.status === 'suspended') woken.delete(name)
          for (const j of out.jobs) if (j.op === 'add' && j.name === 'resume') woken.add(j.data.step)
          for (const name of STEPS) {
            const st = doc.steps[name]!
            if (doc.status !== 'running' || st.status !== 'suspended') continue
            const resolvedChild = (st.waitingAll ?? [st.waitingOn ?? -1]).some((p) => {
              const r = st.records[p]
              return r?.t === 'run' && r.state === 'resolved'
            })
            if (resolvedChild) expect(woken.has(name), `a resume job of ${name}`).toBe(true)
          }
          // a run that ended in this transition says so (its executions stop, its terminal event is appended)
          if (before.status === 'running' && doc.status !== 'running') {
            expect(out.ended).toBe(true)
            expect(out.appends.at(-1)?.map((a) => a.key)).toEqual(['fe'])
            // riding behind the write that ended it: fenced by that write's end fence, the terminal
            // event last, and every other append of the transition required stored before them
            if (out.behind) {
              const behind = out.behind.appends
              expect(behind.at(-1)?.key).toBe('fe')
              expect(behind.at(-1)?.after).toBe(behind.at(-2)?.key)
              for (const a of behind) expect(a.fence).toEqual(endFence(doc.endedBy ?? '?'))
              const all = new Set(out.appends.flat().map((a) => a.key))
              expect(new Set([...out.behind.requires, ...behind.map((a) => a.key)])).toEqual(all)
            }
          }
        }
      }),
      { numRuns: Number(process.env.FC_RUNS ?? 400) },
    )
  })
})
