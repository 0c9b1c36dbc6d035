// An `every` too long for a date (1e20 ms, Infinity) is bad input like any other: `schedules.set`
// refuses it with INVALID_ARGUMENT naming the schedule and the field, before anything is stored
// (design/schedules.md "Bad cron or tz → INVALID_ARGUMENT naming the field, before anything is
// stored"). Before, set threw a raw RangeError ("Invalid time value") after storing the schedule,
// and from then on `schedules.list()` — and GET /schedules — threw it too, for every schedule.
// An every in ms is listed as a duration string set takes back ('1500ms'; it was '1500'), and a
// listed every schedule set again as listed (its tz 'UTC' included) is the same schedule.
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

  it('a fraction of a ms (its ticks would be rounded), and a flow that is no name, are INVALID_ARGUMENT naming the field', async () => {
    const err = await runner()
      .schedules.set({ id: 'frac', flow: 'sync', every: 1000.5 })
      .catch((e: unknown) => e)
    expect(isLeanflowError(err, 'INVALID_ARGUMENT'), String(err)).toBe(true)
    expect((err as Error).message).toMatch(/^Schedule "frac": invalid every 1000\.5: pass whole milliseconds/)
    for (const flow of [undefined, {}, ['sync'], 42]) {
      const bad = await runner()
        .schedules.set({ id: 'noflow', flow: flow as never, every: '1h' })
        .catch((e: unknown) => e)
      expect(isLeanflowError(bad, 'INVALID_ARGUMENT'), String(bad)).toBe(true)
      expect((bad as Error).message).toMatch(
        /^Invalid schedules\.set flow of schedule "noflow" .*: pass the name of a flow this runner holds/,
      )
    }
    expect((await runner().schedules.list()).map((s) => s.id)).toEqual(['hourly'])
  })

  it('an every given in ms is listed as a duration the API takes back ("1500ms", not "1500"), ticking alike', async () => {
    const info = await runner().schedules.set({ id: 'ms', flow: 'sync', every: 1500 })
    expect(info.every).toBe('1500ms')
    expect((await runner().schedules.list()).find((s) => s.id === 'ms')?.every).toBe('1500ms')
    // what list() shows, set again: the same schedule, the same next tick
    const again = await runner().schedules.set({ id: 'ms', flow: 'sync', every: info.every as string })
    expect(again.every).toBe('1500ms')
    expect(Date.parse(again.nextRunAt as string) % 1500).toBe(0)
    expect((await runner().schedules.set({ id: 'str', flow: 'sync', every: '15m' })).every).toBe('15m')
    await runner().schedules.delete('ms')
    await runner().schedules.delete('str')
  })

  it("what list() shows of an every schedule (tz 'UTC' included) sets it again as it was; another tz is refused", async () => {
    await runner().schedules.set({ id: 'again', flow: 'sync', every: '15m', input: { n: 1 } })
    const listed = (await runner().schedules.list()).find((s) => s.id === 'again')
    expect(listed?.tz).toBe('UTC')
    const { id, flow, every, tz } = listed as { id: string; flow: string; every: string; tz: string }
    const again = await runner().schedules.set({ id, flow, every, tz, input: { n: 1 } })
    expect({ every: again.every, tz: again.tz, nextRunAt: again.nextRunAt }).toEqual({ every, tz, nextRunAt: listed?.nextRunAt })
    const err = await runner()
      .schedules.set({ id, flow, every, tz: 'Europe/Berlin' })
      .catch((e: unknown) => e)
    expect(isLeanflowError(err, 'INVALID_ARGUMENT'), String(err)).toBe(true)
    expect((err as Error).message).toMatch(/tz "Europe\/Berlin"/)
    await runner().schedules.delete('again')
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
