import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { Command, JobOut, Transition } from './commands.js'
import { transition } from './index.js'
import { type AwaitRec, type FlowGraph, newRunDoc, type RunDoc } from './runDoc.js'

// A step suspended on the invokes of a fan-out, its children ending in batches (now and then one
// twice) in any order, interleaved with the resume jobs those ends queue and the replays they
// start (each suspends again on what is still pending, or goes on with what settled meanwhile).
// Whatever the order: no lost wake-up (once every child ended and every job ran, the step
// completed), a step.resumed for every position, and at most one resume job per child.

const FLOW: FlowGraph = { name: 'f', steps: { a: {} } }
const env = (now: number) => ({ runId: 'r', now, flow: FLOW })

const action = fc.oneof(
  fc.record({ kind: fc.constant('end' as const), picks: fc.array(fc.nat(), { minLength: 1, maxLength: 4 }) }),
  fc.record({ kind: fc.constant('job' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('replay' as const) }),
)

describe('fan-out (random orders of children ends, resume jobs and replays)', () => {
  it('completes, logs every position once resumed, and queues at most one resume job per child', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.array(action, { maxLength: 40 }), (k, actions) => {
        let now = 1
        let leases = 0
        const doc: RunDoc = newRunDoc(FLOW, 0, 0)
        const step = () => doc.steps.a as NonNullable<RunDoc['steps']['a']>
        const jobs: Array<{ id: string; pos: number }> = []
        const resumed = new Set<number>()
        /** Every resume job id queued (a job id the queue holds already is not queued again). */
        const queued = new Set<string>()
        const run = <C extends Command>(cmd: C): Transition => {
          now++
          const out = transition(doc, cmd, env(now))
          for (const wave of out.appends)
            for (const a of wave) if (a.kind === 'step.resumed') resumed.add((a.data as { position: number }).position)
          for (const j of out.jobs as JobOut[]) {
            if (j.op !== 'add' || j.name !== 'resume') continue
            queued.add(j.id)
            if (!jobs.some((q) => q.id === j.id)) jobs.push({ id: j.id, pos: j.data.pos ?? -1 })
          }
          return out
        }
        // the first execution: k invokes, then one suspend that records and announces them all
        run({ type: 'claimStep', step: 'a', attempt: 1, jobId: 'J0', lease: 'L0' })
        const announce = Array.from({ length: k }, (_, pos) => ({
          pos,
          rec: { t: 'run', flow: 'kid', childRunId: `c${pos}`, input: pos, state: 'pending', since: now, attempt: 1 } as AwaitRec,
        }))
        run({ type: 'suspend', step: 'a', lease: 'L0', positions: announce.map((x) => x.pos), announce })
        /** What the execution holding the step saw pending when it claimed it (its replay waits on those). */
        let view: number[] = []
        const pendingNow = () => step().records.flatMap((r, pos) => (r.t === 'run' && r.state === 'pending' ? [pos] : []))
        /** That execution replays: it suspends on what it saw pending, goes on with what settled meanwhile, completes once nothing is left. */
        const replay = () => {
          for (let i = 0; i < k + 1; i++) {
            const s = step()
            if (s.status !== 'running' || s.lease === undefined) return
            if (view.length === 0) {
              run({ type: 'complete', step: 'a', lease: s.lease, result: k })
              return
            }
            const reply = run({ type: 'suspend', step: 'a', lease: s.lease, positions: view }).reply
            if (reply === 'suspended') return
            const settled = new Set((reply as Array<{ pos: number }>).map((x) => x.pos))
            view = view.filter((p) => !settled.has(p))
          }
        }
        const endChildren = (picks: number[]) =>
          run({
            type: 'resolveChildren',
            ends: picks.map((p) => ({ childRunId: `c${p % k}`, outcome: { status: 'completed', result: p % k } })),
          })
        const runJob = (i: number) => {
          const [job] = jobs.splice(i % jobs.length, 1)
          if (!job) return
          const out = run({ type: 'awaitJob', job: 'resume', step: 'a', pos: job.pos, jobId: job.id, lease: `L${++leases}` })
          if ((out.reply as { kind: string }).kind === 'claimed') view = pendingNow()
        }
        for (const a of actions) {
          if (a.kind === 'end') endChildren(a.picks)
          else if (a.kind === 'job' && jobs.length > 0) runJob(a.pick)
          else if (a.kind === 'replay') replay()
        }
        // then every child ends, and every queued job and replay runs until nothing is left
        endChildren(Array.from({ length: k }, (_, i) => i))
        for (let i = 0; i < 4 * k + 4; i++) {
          replay()
          if (jobs.length === 0) break
          runJob(0)
        }
        replay()
        expect(jobs).toEqual([])
        expect(step().status).toBe('completed')
        expect([...resumed].sort((x, y) => x - y)).toEqual(Array.from({ length: k }, (_, i) => i))
        expect(queued.size).toBeLessThanOrEqual(k)
      }),
      { numRuns: 500 },
    )
  })
})
