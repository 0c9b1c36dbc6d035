import { describe, expect, it } from 'vitest'
import type { Command } from './commands.js'
import { transition } from './index.js'
import { env, run, running } from './transitionRows.js'

// A lease carries the delivery count of the job it was made for (`3.N`: the shell's `leaseFor`).
// A delivery never takes a step over from a later delivery of the same job: its claim was sent
// before its queue lock lapsed and answered after another worker got the job again. Leases
// without a count (written by an older leanflow) are taken over as before.

const JOB = 'w~r~a~1~0'
const resume = (lease: string): Command => ({ type: 'awaitJob', job: 'resume', step: 'a', pos: 0, jobId: JOB, lease })
const takeOver = (lease: string): Command => ({ type: 'takeOver', step: 'a', jobId: JOB, lease })

describe('a take-over by the same job', () => {
  it.each([
    ['takeOver', takeOver],
    ['awaitJob (resume)', resume],
  ] as const)('%s: by a later delivery it takes the step; by an earlier one nothing changes', (_name, cmd) => {
    // the step awaited an event (resolved) at position 0, and its execution runs on from it
    const rec = { t: 'event', kind: 'paid', state: 'resolved', since: 0, doneAt: 1, attempt: 1 } as const
    const held = () => run({ a: { ...running('3.LATER', JOB), records: [{ ...rec }] } })
    const d1 = held()
    const stale = transition(d1, cmd('2.N'), env)
    expect(d1.steps.a?.lease).toBe('3.LATER')
    expect(stale.appends).toEqual([])
    expect(stale.reply === undefined || (stale.reply as { kind?: string }).kind === 'noop').toBe(true)
    const d2 = held()
    transition(d2, cmd('4.N'), env)
    expect(d2.steps.a?.lease).toBe('4.N')
    // a lease without a count: as before, taken over
    const d3 = run({ a: { ...running('OLD', JOB), records: [{ ...rec }] } })
    transition(d3, cmd('2.N'), env)
    expect(d3.steps.a?.lease).toBe('2.N')
  })
})
