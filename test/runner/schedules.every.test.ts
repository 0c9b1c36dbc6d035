// An `every` too long for a date (1e20 ms, Infinity) is bad input like any other: `schedules.set`
// refuses it with INVALID_ARGUMENT naming the schedule and the field, before anything is stored
// (design/schedules.md "Bad cron or tz → INVALID_ARGUMENT naming the field, before anything is
// stored"). Before, set threw a raw RangeError ("Invalid time value") after storing the schedule,
// and from then on `schedules.list()` — and GET /schedules — threw it too, for every schedule.
import { isLeanflowError } from '@leanflow/core'
import { defineFlow } from '@leanflow/runner'
import { expect, it } from 'vitest'
import { describeOnStores } from '../fixtures/runnerOnStores.js'

const sync = defineFlow({ name: 'sync', steps: { pull: { handler: async () => 1 } } })

describeOnStores({ flows: [sync], prefix: 'every' }, (runner) => {
  it('an every past 10 years is INVALID_ARGUMENT naming it; nothing is stored and list still works', async () => {
    await runner().schedules.set({ id: 'hourly', flow: 'sync', every: '1h' })
    for (const [every, shown] of [
      [1e20, '100000000000000000000'],
      [315_576_000_001, '315576000001'],
      [Number.POSITIVE_INFINITY, 'Infinity'],
    ] as const) {
      const err = await runner()
        .schedules.set({ id: 'far', flow: 'sync', every })
        .catch((e: unknown) => e)
      expect(isLeanflowError(err, 'INVALID_ARGUMENT'), String(err)).toBe(true)
      expect((err as Error).message).toMatch(new RegExp(`^Schedule "far": invalid every ${shown}: pass `))
    }
    expect((await runner().schedules.list()).map((s) => s.id)).toEqual(['hourly'])
  })

  it('10 years is the longest every: its next tick is a whole multiple of it since the epoch', async () => {
    const every = 315_576_000_000
    const info = await runner().schedules.set({ id: 'decade', flow: 'sync', every })
    const next = Date.parse(info.nextRunAt as string)
    expect(next % every).toBe(0)
    expect(next).toBeGreaterThan(Date.now())
    await runner().schedules.delete('decade')
  })
})
