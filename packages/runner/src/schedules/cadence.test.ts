import { describe, expect, it } from 'vitest'
import { cronCadence, cronKey } from './cadence.js'
import { differences } from './scheduleClash.js'
import { type ScheduleDoc, sameCadence } from './scheduleDoc.js'

// Two spellings of one cron cadence are one schedule (docs/schedules.md: "`@daily` is `0 0 * * *`"),
// as two spellings of one `every` or one time zone already were.
const doc = (cron: string): ScheduleDoc => ({
  id: 's',
  flow: 'f',
  cron,
  tz: 'UTC',
  overlap: 'allow',
  catchUp: 'latest',
  source: 'code',
  paused: false,
})

describe('cron spellings', () => {
  it.each([
    ['@daily', '0 0 * * *'],
    ['@midnight', '0 0 * * *'],
    ['@DAILY', '0  0 * * *'],
    ['@hourly', '0 * * * *'],
    ['@weekly', '0 0 * * 0'],
    ['@monthly', '0 0 1 * *'],
    ['@yearly', '@annually'],
    [' 0 3 * * * ', '0 3 * * *'],
    ['0 0 0 * * *', '@daily'],
  ])('%s and %s: one cadence, no difference', (a, b) => {
    expect(cronKey(a)).toBe(cronKey(b))
    expect(sameCadence(doc(a), doc(b))).toBe(true)
    expect(differences(doc(a), doc(b))).toEqual([])
  })

  it('an unknown nickname is told so, naming the nicknames', () => {
    expect(() => cronCadence('s', '@daly', 'UTC')).toThrow(
      /it is no nickname: pass 5 or 6 fields.*\(the nicknames: @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly\)/,
    )
    expect(() => cronCadence('s', '@every 5m', 'UTC')).toThrow(/it is no nickname/)
  })

  it('other patterns stay different', () => {
    expect(sameCadence(doc('@daily'), doc('0 1 * * *'))).toBe(false)
    expect(sameCadence(doc('30 0 0 * * *'), doc('@daily'))).toBe(false)
    expect(differences(doc('@hourly'), doc('0 0 * * *'))).toEqual(['cron "@hourly" there, "0 0 * * *" here'])
  })
})
