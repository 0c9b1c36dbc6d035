import { describe, expect, it } from 'vitest'
import { createColors, wantsColor } from './colors.js'
import { formatDuration } from './format.js'

// A change to the public API shows up in this diff.
describe('@leanflow/cli public API', () => {
  it('exports exactly these values', async () => {
    expect(Object.keys(await import('./index.js')).sort()).toEqual(['EXIT_CODES', 'runCli'])
  })
})

describe('output helpers', () => {
  it('colors on a terminal only, never with NO_COLOR, always with FORCE_COLOR', () => {
    expect(wantsColor({ isTTY: true }, {})).toBe(true)
    expect(wantsColor({ isTTY: false }, {})).toBe(false)
    expect(wantsColor({ isTTY: true }, { NO_COLOR: '1' })).toBe(false)
    expect(wantsColor({ isTTY: true }, { TERM: 'dumb' })).toBe(false)
    expect(wantsColor({ isTTY: false }, { FORCE_COLOR: '1' })).toBe(true)
    expect(createColors(false).red('x')).toBe('x')
    expect(createColors(true).red('x')).toBe('\u001b[31mx\u001b[39m')
  })

  it('formats durations as people read them', () => {
    expect([undefined, 850, 1234, 65_000, 7_260_000, 200_000_000].map(formatDuration)).toEqual([
      '-',
      '850ms',
      '1.23s',
      '1m 05s',
      '2h 01m',
      '2d 7h',
    ])
  })
})
