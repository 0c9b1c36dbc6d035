import { describe, expect, it } from 'vitest'
import { hasNonFiniteNumber, jsonDepth, jsonTextDepth, MAX_JSON_DEPTH } from './jsonLimits.js'

/** `levels` arrays, one inside the other. */
function nested(levels: number): unknown {
  let v: unknown = 1
  for (let i = 0; i < levels; i++) v = [v]
  return v
}

describe('jsonDepth', () => {
  it('counts arrays and objects, not scalars', () => {
    expect(jsonDepth(1)).toBe(0)
    expect(jsonDepth(null)).toBe(0)
    expect(jsonDepth({})).toBe(1)
    expect(jsonDepth({ a: [1, { b: 2 }] })).toBe(3)
    expect(jsonDepth(nested(MAX_JSON_DEPTH))).toBe(MAX_JSON_DEPTH)
  })

  it('walks 100,000 levels without overflowing, and stops counting past the limit', () => {
    expect(jsonDepth(nested(100_000))).toBe(MAX_JSON_DEPTH + 1)
    expect(jsonDepth(nested(100_000), Number.POSITIVE_INFINITY)).toBe(100_000)
  })

  it('takes a wide array without spreading it', () => {
    expect(jsonDepth([Array.from({ length: 200_000 }, () => [1])])).toBe(3)
  })
})

describe('hasNonFiniteNumber', () => {
  it('finds 1e400 anywhere, and nothing in finite data', () => {
    expect(hasNonFiniteNumber(JSON.parse('{"a":[1,{"b":1e400}]}'))).toBe(true)
    expect(hasNonFiniteNumber(JSON.parse('-1e400'))).toBe(true)
    expect(hasNonFiniteNumber(JSON.parse('{"a":[1,{"b":1e300}],"c":"1e400"}'))).toBe(false)
    expect(hasNonFiniteNumber(Array.from({ length: 200_000 }, () => 1))).toBe(false)
  })
})

describe('jsonTextDepth', () => {
  it('counts the brackets outside strings, as jsonDepth counts the parsed value', () => {
    for (const value of [1, 'x', {}, [], { a: [1, { b: 2 }] }, { 'k]}': ['[[[', '\\"{{'] }, JSON.parse(JSON.stringify(nested(600)))])
      expect(jsonTextDepth(JSON.stringify(value))).toBe(jsonDepth(value, Number.POSITIVE_INFINITY))
    expect(jsonTextDepth('{"a":["]]]",{}]}')).toBe(3)
    expect(jsonTextDepth(`${'['.repeat(100_000)}${']'.repeat(100_000)}`)).toBe(100_000)
  })
})
