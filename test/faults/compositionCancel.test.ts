/**
 * Cancel across real processes (design/composition.md, guarantee 4): a cancel cascades to every
 * active child, and a cascade cut short by the death of the process that ran it is finished by a
 * worker (the cancel's `cancel` job), no one asking again. Workers are
 * `test/workers/composeWorker.ts` on BullMQ, their store proxied to die at a precise point.
 */
import { describe, expect, it } from 'vitest'
import { waitFor } from '../helpers/waitFor.js'
import { killed, lastOf, runsOf, useComposeFleet } from './composeFleet.js'

const { setup } = useComposeFleet()

describe('guarantee 4: cancel cascades to every child', () => {
  /** Starts `hundred` with `k` children and waits until every child awaits its hour. */
  async function hundred(c: ReturnType<typeof setup>, k: number) {
    const { runId } = await c.producer.startFlow('hundred', { k })
    await waitFor(
      async () => (await c.store.listRuns('sleeper', { status: 'awaiting', limit: 1000 })).length === k,
      `${k} children awaiting`,
      60_000,
    )
    return runId
  }
  /** The statuses of the children, counted, once all are canceled or after `ms`. */
  async function childStatuses(c: ReturnType<typeof setup>, k: number, ms: number) {
    await waitFor(
      async () => (await c.store.listRuns('sleeper', { status: 'canceled', limit: 1000 })).length === k,
      'children canceled',
      ms,
    ).catch(() => {})
    const out: Record<string, number> = {}
    for (const r of await runsOf(c.store, 'sleeper')) out[r.status] = (out[r.status] ?? 0) + 1
    return out
  }
  /** Every child ended `flow.canceled` (parent canceled): none left awaiting or running, no timer left queued. */
  async function noChildLeft(c: ReturnType<typeof setup>, k: number) {
    expect(await childStatuses(c, k, 30_000)).toEqual({ canceled: k })
    for (const kid of await runsOf(c.store, 'sleeper')) {
      const end = await lastOf(c.store, kid.runId)
      expect(end?.kind).toBe('flow.canceled')
      expect(end?.data).toEqual({ reason: 'parent canceled' })
    }
    // their hour-long timers are gone from the queue, and nothing is left to run: a killed worker's
    // jobs stay active until its lock expires (2 s), then go back to the queue and end as no-ops
    const counts = () => c.jobs.getJobCounts('delayed', 'wait', 'active')
    await waitFor(async () => Object.values(await counts()).every((n) => n === 0), 'the queue drained', 15_000).catch(() => {})
    expect(await counts()).toEqual({ delayed: 0, wait: 0, active: 0 })
  }

  /** `hundred` with `k` children canceled by a worker that dies at `kill` in the cascade (beside a worker that lives); the parent. */
  async function cancelCut(c: ReturnType<typeof setup>, kill: string, k: number) {
    const doomed = c.spawn({ KILL: kill })
    await c.ready([doomed, c.spawn()])
    const parent = await hundred(c, k)
    doomed.proc.send({ type: 'cancel', runId: parent, reason: 'stop' })
    await killed(doomed, `the kill at ${kill}`)
    return parent
  }

  it('cancel of a parent with 100 awaiting children (2 workers): every child ends flow.canceled, reason parent canceled', async () => {
    const c = setup()
    await c.ready([c.spawn(), c.spawn()])
    const parent = await hundred(c, 100)
    await c.producer.cancel(parent, 'stop')
    expect((await lastOf(c.store, parent))?.data).toEqual({ reason: 'stop' })
    await noChildLeft(c, 100)
  }, 120_000)

  it('the cascade run by a worker SIGKILLed at the 30th child’s flow.canceled: no one asks again, and a surviving worker finishes it (its cancel job)', async () => {
    const c = setup()
    const parent = await cancelCut(c, 'atChildCancel:30', 100)
    // the parent is canceled; at most 29 children logged their end (appends in flight may be lost with the process)
    expect((await lastOf(c.store, parent))?.kind).toBe('flow.canceled')
    expect((await c.store.listRuns('sleeper', { status: 'canceled', limit: 1000 })).length).toBeLessThanOrEqual(29)
    // the caller saw no answer (its process died) and asks nothing: the cancel's job, queued before
    // its write, comes to the other worker 5 s on and carries the cascade out
    await noChildLeft(c, 100)
    expect((await c.store.read(parent)).filter((e) => e.kind === 'flow.canceled')).toHaveLength(1)
  }, 120_000)

  it('a canceling process SIGKILLed after it wrote a child canceled, before that child’s flow.canceled: the child’s log ends too, and its children (no one asks again)', async () => {
    const c = setup()
    await cancelCut(c, 'afterChildCanceledWrite:3', 10)
    await noChildLeft(c, 10)
  }, 120_000)
})
