// A run canceled while it waits in a rate limit's line (flow-control guarantees 2 and 5): it leaves
// the line at once, and the runs behind it move up a place, each asking when its new turn comes.
// Before, each queued run asked only at the turn it was given when it queued: the canceled run's
// place in the window went unused, and every run behind it started a whole period late.
import { reduceFlow } from '@leanflow/core'
import { defineFlow } from '@leanflow/runner'
import { expect, it } from 'vitest'
import { logOf, waitEnd } from '../fixtures/runnerKit.js'
import { describeOnStores } from '../fixtures/runnerOnStores.js'

const PERIOD = 300
const rated = defineFlow({
  name: 'rated',
  rateLimit: { limit: 1, period: PERIOD },
  steps: { a: { handler: async () => 'ok' } },
})

/** Store ms of a run's first step.started. */
async function startedAt(store: Parameters<typeof logOf>[0], runId: string): Promise<number> {
  const e = (await logOf(store, runId)).find((x) => x.kind === 'step.started')
  return Date.parse(e?.ts as string)
}

describeOnStores({ flows: [rated], prefix: 'qcancel' }, (runner, store) => {
  it('canceling the first queued run moves every run behind it up one place in the window', async () => {
    const first = await runner().startFlow('rated', {})
    const queued = [] as string[]
    for (let i = 0; i < 3; i++) queued.push((await runner().startFlow('rated', {})).runId)
    const [gone, ...rest] = queued as [string, string, string]
    expect(reduceFlow(await logOf(store(), gone)).status).toBe('queued')
    await runner().cancel(gone)
    expect((await runner().limits('rated')).limits).toMatchObject([{ kind: 'rateLimit', queued: 2 }])

    expect((await waitEnd(store(), first.runId, 5_000)).kind).toBe('flow.completed')
    const t0 = await startedAt(store(), first.runId)
    for (const id of rest) expect((await waitEnd(store(), id, 5_000)).kind).toBe('flow.completed')
    // the canceled run's turn (one period after the first) goes to the next, and so on: not a period late each
    // (t0: the first run's step.started, a few ms after its admission opened the window)
    const late = [(await startedAt(store(), rest[0])) - t0, (await startedAt(store(), rest[1])) - t0]
    expect(late[0]).toBeGreaterThanOrEqual(PERIOD - 25)
    expect(late[0]).toBeLessThan(2 * PERIOD - 75)
    expect(late[1]).toBeGreaterThanOrEqual(2 * PERIOD - 25)
    expect(late[1]).toBeLessThan(3 * PERIOD - 75)
  })
})
