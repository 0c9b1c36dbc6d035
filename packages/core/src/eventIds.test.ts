import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { compareEventIds, isEventId } from './eventIds.js'

const big = (id: string) => id.split('-').map(BigInt) as [bigint, bigint]
const byBigInt = (a: string, b: string) => {
  const [am, as] = big(a)
  const [bm, bs] = big(b)
  return am !== bm ? (am < bm ? -1 : 1) : as !== bs ? (as < bs ? -1 : 1) : 0
}
const digits = (max: bigint) => fc.bigInt({ min: 0n, max }).map(String)
const id = fc.tuple(digits(2n ** 64n - 1n), digits(2n ** 64n - 1n)).map(([m, s]) => `${m}-${s}`)
const smallId = fc.tuple(digits(120n), digits(120n)).map(([m, s]) => `${m}-${s}`)

describe('compareEventIds', () => {
  it('orders numerically, not lexically', () => {
    expect(compareEventIds('9-0', '10-0')).toBeLessThan(0)
    expect(compareEventIds('10-0', '9-0')).toBeGreaterThan(0)
    expect(compareEventIds('5-9', '5-10')).toBeLessThan(0)
    expect(compareEventIds('1700000000000-1', '1700000000000-1')).toBe(0)
    expect(compareEventIds('1700000000000-99', '1700000000001-0')).toBeLessThan(0)
    expect(compareEventIds('18446744073709551615-0', '18446744073709551614-18446744073709551615')).toBeGreaterThan(0)
    expect(['10-0', '9-1', '9-0', '100-0', '9-10'].sort(compareEventIds)).toEqual(['9-0', '9-1', '9-10', '10-0', '100-0'])
  })

  it('reads leading zeros as the same number', () => {
    expect(compareEventIds('007-0', '7-0')).toBe(0)
    expect(compareEventIds('0-0', '00-000')).toBe(0)
    expect(compareEventIds('010-0', '9-0')).toBeGreaterThan(0)
  })

  it('agrees with BigInt comparison on any ids (property)', () => {
    fc.assert(
      fc.property(fc.oneof(id, smallId), fc.oneof(id, smallId), (a, b) => {
        expect(Math.sign(compareEventIds(a, b))).toBe(byBigInt(a, b))
        expect(Math.sign(compareEventIds(b, a))).toBe(byBigInt(b, a))
      }),
      { numRuns: 2000 },
    )
  })

  it('sorts like BigInt comparison (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(smallId, id), { maxLength: 40 }), (ids) => {
        expect([...ids].sort(compareEventIds)).toEqual([...ids].sort(byBigInt))
      }),
    )
  })

  it('never throws on malformed strings', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (a, b) => {
        expect(typeof compareEventIds(a, b)).toBe('number')
      }),
    )
  })
})

describe('isEventId', () => {
  it.each(['0-0', '1700000000000-0', '18446744073709551615-18446744073709551615', `${'9'.repeat(20)}-1`])('accepts %s', (v) => {
    expect(isEventId(v)).toBe(true)
  })

  it.each([
    '',
    '-',
    '1-',
    '-1',
    '1',
    '1-2-3',
    'a-1',
    '1-b',
    ' 1-1',
    '1-1 ',
    '１-1',
    '1.5-0',
    `${'9'.repeat(21)}-1`,
    `1-${'9'.repeat(21)}`,
    `${'1'.repeat(1_000_000)}-0`,
  ])('refuses %j', (v) => {
    expect(isEventId(v)).toBe(false)
  })

  it.each([null, undefined, 1, {}, ['1-0']])('refuses the non-string %j', (v) => {
    expect(isEventId(v)).toBe(false)
  })

  it('accepts every generated id and matches the documented pattern (property)', () => {
    fc.assert(
      fc.property(id, (v) => {
        expect(isEventId(v)).toBe(true)
      }),
    )
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 45 }), fc.stringMatching(/^\d{0,22}-?\d{0,22}$/)), (v) => {
        expect(isEventId(v)).toBe(/^\d{1,20}-\d{1,20}$/.test(v))
      }),
    )
  })
})
