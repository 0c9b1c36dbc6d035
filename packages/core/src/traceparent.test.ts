import { describe, expect, it } from 'vitest'
import { isTraceparent } from './traceparent.js'

const TP = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'

describe('isTraceparent', () => {
  it('takes W3C values: version 00 with four fields, a later version with more after a -', () => {
    expect(isTraceparent(TP)).toBe(true)
    expect(isTraceparent('cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01')).toBe(true)
    expect(isTraceparent('cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-ever')).toBe(true)
  })

  it('refuses the rest: upper case, version ff, all-zero ids, extra fields on 00, no - before them, no string', () => {
    for (const bad of [
      TP.toUpperCase(),
      TP.replace(/^00/, 'ff'),
      '00-00000000000000000000000000000000-00f067aa0ba902b7-01',
      '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01',
      `${TP}-extra`,
      'cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x',
      'cc-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01-x',
      '',
      42,
      undefined,
    ])
      expect(isTraceparent(bad), String(bad)).toBe(false)
  })
})
