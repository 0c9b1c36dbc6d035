import { describe, expect, it } from 'vitest'
import { isLeanflowError } from './errors.js'
import { invalidArgument, positiveInteger } from './invalidArgument.js'

describe('invalidArgument and positiveInteger', () => {
  it('names the option, the value and what to pass', () => {
    const err = invalidArgument('read direction', 'up', "'forward' or 'backward'")
    expect(isLeanflowError(err, 'INVALID_ARGUMENT')).toBe(true)
    expect(err.message).toBe(`Invalid read direction "up": pass 'forward' or 'backward'.`)
    expect(invalidArgument('x', 'y'.repeat(100), 'less').message).toContain('…')
    expect(invalidArgument('x', 2n, 'a number').message).toContain('2n')
    expect(invalidArgument('x', undefined, 'a number').message).toContain('undefined')
    // NaN and Infinity as themselves, not as JSON's null; a value with no text form still gives a message
    expect(invalidArgument('priority', Number.NaN, 'an integer').message).toBe('Invalid priority NaN: pass an integer.')
    expect(invalidArgument('limit', Number.NEGATIVE_INFINITY, 'a number').message).toContain('-Infinity')
    const cyclic: Record<string, unknown> = Object.create(null)
    cyclic.self = cyclic
    expect(invalidArgument('x', cyclic, 'plain data').message).toBe('Invalid x an object: pass plain data.')
  })

  it('positiveInteger returns whole numbers above 0 and refuses the rest', () => {
    expect(positiveInteger(1, 'limit')).toBe(1)
    expect(positiveInteger(2 ** 40, 'limit')).toBe(2 ** 40)
    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '5', null, undefined]) {
      expect(() => positiveInteger(bad, 'limit')).toThrow(/Invalid limit .*: pass a whole number above 0\./)
    }
    // beyond exact integers: a store's commands refuse it (Redis: "value is not an integer or out of range")
    expect(() => positiveInteger(1e20, 'limit')).toThrow(
      'Invalid limit 100000000000000000000: pass a whole number above 0, at most 9007199254740991.',
    )
  })
})
