import { describe, expect, it } from 'vitest'
import { eventFrame, frame } from './sseFrames.js'

describe('SSE frames', () => {
  it('gives every line of data its own data: field (multi-line safe)', () => {
    expect(frame({ event: 'x', data: 'a\nb\r\nc\rd' })).toBe('event: x\ndata: a\ndata: b\ndata: c\ndata: d\n\n')
  })
  it('an event frame is id: + one data: line of the JSON record, even with newlines and U+2028 in data', () => {
    const e = { id: '1-0', ts: '2026-01-01T00:00:00.000Z', kind: 'k', flow: 'r', data: { s: 'l1\nl2\u2028\r' } }
    const f = eventFrame(e)
    expect(f.split('\n').filter((l) => l.startsWith('data:'))).toHaveLength(1)
    expect(f.startsWith('id: 1-0\ndata: ')).toBe(true)
    expect(JSON.parse(f.slice(f.indexOf('data: ') + 6, -2))).toEqual(e)
  })
})
