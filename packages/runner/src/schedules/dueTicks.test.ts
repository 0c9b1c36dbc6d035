import { describe, expect, it } from 'vitest'
import { cronCadence, everyCadence } from './cadence.js'
import { dueTicks } from './dueTicks.js'

const at = (iso: string) => Date.parse(iso)
const isos = (ts: number[]) => ts.map((t) => new Date(t).toISOString())

describe('cadences', () => {
  it('every: ticks aligned to the epoch, whatever the time of asking', () => {
    const c = everyCadence('s', '15m')
    expect(new Date(c.next(at('2026-03-01T10:07:13Z'))).toISOString()).toBe('2026-03-01T10:15:00.000Z')
    expect(new Date(c.next(at('2026-03-01T10:15:00Z'))).toISOString()).toBe('2026-03-01T10:30:00.000Z')
    expect(isos(c.previous(at('2026-03-01T10:15:00Z'), 2))).toEqual(['2026-03-01T10:15:00.000Z', '2026-03-01T10:00:00.000Z'])
  })

  it('cron with seconds and a time zone', () => {
    const c = cronCadence('s', '*/20 * * * * *', 'UTC')
    expect(new Date(c.next(at('2026-01-01T00:00:20Z'))).toISOString()).toBe('2026-01-01T00:00:40.000Z')
    expect(isos(c.previous(at('2026-01-01T00:00:40Z'), 2))).toEqual(['2026-01-01T00:00:40.000Z', '2026-01-01T00:00:20.000Z'])
    const berlin = cronCadence('s', '0 3 * * *', 'Europe/Berlin')
    expect(new Date(berlin.next(at('2026-07-01T12:00:00Z'))).toISOString()).toBe('2026-07-02T01:00:00.000Z')
  })

  it("cron nicknames (croner's, as Vixie cron's) tick as the pattern they stand for, in the zone; @reboot is refused", () => {
    const day = (pattern: string, tz: string, fromIso: string) => new Date(cronCadence('s', pattern, tz).next(at(fromIso))).toISOString()
    expect(day('@daily', 'Europe/Berlin', '2026-07-01T12:00:00Z')).toBe('2026-07-01T22:00:00.000Z')
    expect(day('@midnight', 'UTC', '2026-07-01T12:00:00Z')).toBe('2026-07-02T00:00:00.000Z')
    expect(day('@hourly', 'UTC', '2026-07-01T12:00:00Z')).toBe('2026-07-01T13:00:00.000Z')
    expect(day('@weekly', 'UTC', '2026-07-01T12:00:00Z')).toBe('2026-07-05T00:00:00.000Z') // Sunday
    expect(day('@monthly', 'UTC', '2026-07-01T12:00:00Z')).toBe('2026-08-01T00:00:00.000Z')
    expect(day('@yearly', 'UTC', '2026-07-01T12:00:00Z')).toBe('2027-01-01T00:00:00.000Z')
    expect(day('@annually', 'UTC', '2026-07-01T12:00:00Z')).toBe('2027-01-01T00:00:00.000Z')
    // a fixed time, like 0 0 * * *: a midnight that a spring-forward skips fires at the first valid time after it
    expect(day('@daily', 'America/Sao_Paulo', '2018-11-04T00:00:00Z')).toBe('2018-11-04T03:00:00.000Z')
    expect(() => cronCadence('s', '@reboot', 'UTC')).toThrow(/invalid cron "@reboot".*nickname such as '@daily'/)
  })

  it('DST in Europe/Berlin: 02:30 fires once on the spring-forward day and once on the fall-back day', () => {
    const c = cronCadence('s', '30 2 * * *', 'Europe/Berlin')
    const ticks = (fromIso: string, toIso: string) => {
      const out: number[] = []
      for (let t = c.next(at(fromIso)); t < at(toIso); t = c.next(t)) out.push(t)
      return out
    }
    // 2026-03-29: 02:00 → 03:00 (02:30 does not exist: once, at 03:00 CEST)
    expect(isos(ticks('2026-03-28T22:00:00Z', '2026-03-29T22:00:00Z'))).toEqual(['2026-03-29T01:00:00.000Z'])
    // 2026-10-25: 03:00 → 02:00 (02:30 happens twice: once, the first)
    expect(isos(ticks('2026-10-24T22:00:00Z', '2026-10-25T23:00:00Z'))).toEqual(['2026-10-25T00:30:00.000Z'])
  })

  it('DST in Europe/Berlin for an interval pattern (a step, list or wildcard): gap times skipped, repeated ones fire twice', () => {
    // croner follows Vixie cron: only a fixed-time pattern (one value in seconds, minutes and hours)
    // moves out of the gap and fires once in the overlap; docs/schedules.md says so
    const ticks = (pattern: string, fromIso: string, toIso: string) => {
      const c = cronCadence('s', pattern, 'Europe/Berlin')
      const out: number[] = []
      for (let t = c.next(at(fromIso)); t < at(toIso); t = c.next(t)) out.push(t)
      return isos(out)
    }
    // 2026-03-29, 02:00 → 03:00: 02:00 and 02:30 do not exist, and nothing stands in for them
    expect(ticks('*/30 2 * * *', '2026-03-28T22:00:00Z', '2026-03-29T22:00:00Z')).toEqual([])
    expect(ticks('0 * * * *', '2026-03-28T23:30:00Z', '2026-03-29T02:30:00Z')).toEqual([
      '2026-03-29T00:00:00.000Z', // 01:00 CET
      '2026-03-29T01:00:00.000Z', // 03:00 CEST
      '2026-03-29T02:00:00.000Z', // 04:00 CEST
    ])
    // 2026-10-25, 03:00 → 02:00: 02:00 and 02:30 happen twice, and fire at both
    expect(ticks('*/30 2 * * *', '2026-10-24T22:00:00Z', '2026-10-25T22:00:00Z')).toEqual([
      '2026-10-25T00:00:00.000Z', // 02:00 CEST
      '2026-10-25T00:30:00.000Z', // 02:30 CEST
      '2026-10-25T01:00:00.000Z', // 02:00 CET
      '2026-10-25T01:30:00.000Z', // 02:30 CET
    ])
    expect(ticks('0 * * * *', '2026-10-24T23:30:00Z', '2026-10-25T02:30:00Z')).toEqual([
      '2026-10-25T00:00:00.000Z', // 02:00 CEST
      '2026-10-25T01:00:00.000Z', // 02:00 CET
      '2026-10-25T02:00:00.000Z', // 03:00 CET
    ])
  })

  it('refuses a bad cron, tz or every, naming the field', () => {
    expect(() => cronCadence('nightly', '61 * * * *', 'UTC')).toThrow(/Schedule "nightly": invalid cron "61 \* \* \* \*"/)
    expect(() => cronCadence('nightly', '* * * * * * *', 'UTC')).toThrow(/invalid cron/)
    expect(() => everyCadence('s', '10ms')).toThrow(/invalid every "10ms": pass at least 1 s/)
    expect(() => everyCadence('s', 'soon')).toThrow(/invalid every "soon"/)
  })
})

describe('dueTicks', () => {
  const minute = everyCadence('s', '1m')
  const t0 = at('2026-03-01T10:00:00Z')

  it('nothing before the next tick', () => {
    expect(dueTicks(minute, 'latest', t0, t0 - 1)).toEqual({ fire: [], next: t0 })
  })

  it('a tick fires when due, and up to one grace period late', () => {
    expect(dueTicks(minute, 'none', t0, t0 + 3)).toEqual({ fire: [t0], next: t0 + 60_000 })
    // the grace period is at least one cadence: a minute late is still on time
    expect(dueTicks(minute, 'none', t0, t0 + 59_000).fire).toEqual([t0])
  })

  it('after downtime: latest fires the most recent missed tick, none fires none, all fires every one (the last 100)', () => {
    const now = t0 + 10 * 60_000 + 30_000 // 10.5 minutes later
    expect(dueTicks(minute, 'latest', t0, now).fire).toEqual([t0 + 9 * 60_000, t0 + 10 * 60_000])
    expect(dueTicks(minute, 'none', t0, now).fire).toEqual([t0 + 10 * 60_000])
    expect(dueTicks(minute, 'all', t0, now).fire).toEqual(Array.from({ length: 11 }, (_, i) => t0 + i * 60_000))
    const long = dueTicks(minute, 'all', t0, t0 + 1000 * 60_000)
    expect(long.fire).toHaveLength(101)
    expect(long.fire.at(-1)).toBe(t0 + 1000 * 60_000)
  })

  it('every second: the on-time window holds a few ticks, in order', () => {
    const sec = cronCadence('s', '* * * * * *', 'UTC')
    expect(dueTicks(sec, 'none', t0, t0 + 2500).fire).toEqual([t0, t0 + 1000, t0 + 2000])
    expect(dueTicks(sec, 'all', t0, t0 + 8000).fire).toEqual(Array.from({ length: 9 }, (_, i) => t0 + i * 1000))
  })
})
