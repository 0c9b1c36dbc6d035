import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { decodeJobId, encodeJobId } from './jobIds.js'

// BullMQ's own checks on custom ids (job.js, validateOptions).
const bullmqAccepts = (id: string) => `${Number.parseInt(id, 10)}` !== id && !id.includes(':')

describe('encodeJobId', () => {
  it('round-trips any string and always gives an id BullMQ accepts', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (id) => {
        const enc = encodeJobId(id)
        expect(bullmqAccepts(enc)).toBe(true)
        expect(enc).not.toMatch(/[{}]/)
        expect(decodeJobId(enc)).toBe(id)
      }),
    )
  })

  it('is injective on ids that differ only by escapes', () => {
    const ids = ['a:b', 'a%3Ab', 'a%253Ab', '%', '%25', '{x}', '%7Bx%7D', '123', '-1', '0']
    const encoded = ids.map(encodeJobId)
    expect(new Set(encoded).size).toBe(ids.length)
    expect(encoded.map(decodeJobId)).toEqual(ids)
  })

  it('refuses to decode an id it did not make', () => {
    expect(() => decodeJobId('123')).toThrow(/Not a leanflow job id/)
  })
})
