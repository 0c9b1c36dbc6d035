// A run canceled while it waits in a rate limit's line (flow-control guarantees 2 and 5): it leaves
// the line at once, and the runs behind it move up a place, each asking when its new turn comes.
// Before, each queued run asked only at the turn it was given when it queued: the canceled run's
// place in the window went unused, and every run behind it started a whole period late.
// And a run kept out by a concurrency slot, then by the rate window once the slot frees, asks at
// the window's turn: before, nothing woke it then, and it waited for its backstop (2 s, then 5 s).
import { reduceFlow } from '@leanflow/core'
import { defineFlow } from '@leanflow/runner'
import { expect, it } from 'vitest'
import { logOf, waitEnd } from '../fixtures/runnerKit.js'
import { describeOnStores } from '../fixtures/runnerOnStores.js'

// long enough that a loaded machine (CI beside three suites) stays well inside a turn: a run a period late starts ~700 ms after its turn
const PERIOD = 700
const rated = defineFlow({
  name: 'rated',
  rateLimit: { limit: 1, period: PERIOD },
  steps: { a: { handler: async () => 'ok' } },
})
const both = defineFlow({
  name: 'both',
  concurrency: { limit: 1 },
  rateLimit: { limit: 1, period: PERIOD },
  steps: { a: { handler: async () => 'ok' } },
})

type Store = Parameters<typeof logOf>[0]

/** Store ms of a run's first event of `kind`. */
async function timeOf(store: Store, runId: string, kind = 'step.started'): Promise<number> {
  const e = (await logOf(store, runId)).find((x) => x.kind === kind)
  return Date.parse(e?.ts as string)
}

/**
 * Each of `later` started at its turn in the window (a period after the one before it), well
 * before the turn after: timed from the first run's admission (its flow.started, written right
 * after: on a loaded machine tens of ms after, so the lower bound allows 100 ms; a run let in
 * before its turn would start ~a period early).
 */
async function expectTurns(store: Store, first: string, later: string[]): Promise<void> {
  const t0 = await timeOf(store, first, 'flow.started')
  for (const [i, id] of later.entries()) {
    const late = (await timeOf(store, id)) - t0
    expect(late, `run ${i + 1} starts at its turn`).toBeGreaterThanOrEqual((i + 1) * PERIOD - 100)
    expect(late, `run ${i + 1} starts at its turn`).toBeLessThan((i + 2) * PERIOD - 200)
  }
}

describeOnStores({ flows: [rated, both], prefix: 'ratewake' }, (runner, store) => {
  it('canceling the first queued run moves every run behind it up one place in the window', async () => {
    const first = await runner().startFlow('rated', {})
    const queued = [] as string[]
    for (let i = 0; i < 3; i++) queued.push((await runner().startFlow('rated', {})).runId)
    const [gone, ...rest] = queued as [string, string, string]
    expect(reduceFlow(await logOf(store(), gone)).status).toBe('queued')
    await runner().cancel(gone)
    expect((await runner().limits('rated')).limits).toMatchObject([{ kind: 'rateLimit', queued: 2 }])
    for (const id of [first.runId, ...rest]) expect((await waitEnd(store(), id, 5_000)).kind).toBe('flow.completed')
    // the canceled run's turn goes to the next, and so on: not a period late each
    await expectTurns(store(), first.runId, rest)
  })

  it('a run queued for a concurrency slot, then kept out by the rate window once it frees, starts at its turn', async () => {
    const ids = [] as string[]
    for (let i = 0; i < 3; i++) ids.push((await runner().startFlow('both', {})).runId)
    for (const id of ids) expect((await waitEnd(store(), id, 5_000)).kind).toBe('flow.completed')
    const [first, ...rest] = ids as [string, string, string]
    await expectTurns(store(), first, rest)
  })
})
