import { describe, expect, it } from 'vitest'
import { parseMs } from './session.js'

describe('parseMs', () => {
  it('takes 1 to 2^31 - 1 ms; refuses what a Node timer cannot wait (it would fire at once: every call timed out)', () => {
    expect(parseMs('5000', '--timeout')).toBe(5000)
    expect(parseMs('2147483647', '--timeout')).toBe(2_147_483_647)
    for (const v of ['2147483648', '99999999999', '0', '-1', '1.5', 'x'])
      expect(() => parseMs(v, '--timeout')).toThrow(
        expect.objectContaining({ code: 'USAGE', message: `--timeout must be a whole number of ms from 1 to 2147483647, got "${v}".` }),
      )
  })
})
