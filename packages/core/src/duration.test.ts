import { describe, expect, it } from 'vitest'
import { parseDuration } from './duration.js'
import { isLeanflowError } from './errors.js'

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['5m', 300_000],
    ['24h', 86_400_000],
    ['7d', 604_800_000],
    ['1.5s', 1500],
    [0, 0],
    [250, 250],
    [300.5, 301],
    [0.4, 0],
  ])('%s → %d ms', (input, ms) => {
    expect(parseDuration(input)).toBe(ms)
  })

  it.each([['5 minutes'], ['-1s'], [-5], [Number.NaN], [''], ['1y']])('refuses %s with INVALID_ARGUMENT', (input) => {
    let caught: unknown
    try {
      parseDuration(input as never, 'timeout')
    } catch (err) {
      caught = err
    }
    expect(isLeanflowError(caught, 'INVALID_ARGUMENT')).toBe(true)
    expect(String((caught as Error).message)).toContain('timeout')
  })

  it.each([
    [Number.NaN, 'Invalid timeout NaN: use milliseconds'],
    [Number.POSITIVE_INFINITY, 'Invalid timeout Infinity: use milliseconds'],
    [5n, 'Invalid timeout 5n: use milliseconds'],
  ])('names %s as it is (not "null"; a bigint was a raw TypeError)', (input, message) => {
    expect(() => parseDuration(input as never, 'timeout')).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringContaining(message) }),
    )
  })

  it.each([
    [Number.NaN, 'NaN'],
    [Number.POSITIVE_INFINITY, 'Infinity'],
    [-5, '-5'],
    ['1y', '"1y"'],
  ])('names %s in its refusal', (input, shown) => {
    expect(() => parseDuration(input as never, 'retention')).toThrow(`Invalid retention ${shown}:`)
  })
})
