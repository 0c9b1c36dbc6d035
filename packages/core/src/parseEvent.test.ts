import { describe, expect, it } from 'vitest'
import { InvalidEventError, isLeanflowError } from './errors.js'
import { parseEvent } from './parseEvent.js'

const valid = () => ({
  id: '1700000000000-0',
  ts: '2023-11-14T22:13:20.000Z',
  kind: 'step.completed',
  flow: 'run-1',
  step: 'charge',
  data: { result: 1 },
})

/** The error parseEvent throws for `value` (fails the test when it throws none). */
function refusal(value: unknown): InvalidEventError {
  try {
    parseEvent(value)
  } catch (err) {
    return err as InvalidEventError
  }
  throw new Error(`parseEvent accepted ${JSON.stringify(value)?.slice(0, 80)}`)
}

describe('parseEvent', () => {
  it('returns a clean copy of a valid record, with only the envelope keys', () => {
    const input = { ...valid(), meta: { attempt: 2, jobId: 'j' }, extra: 'dropped' }
    const e = parseEvent(input)
    expect(e).toEqual({ ...valid(), meta: { attempt: 2, jobId: 'j' } })
    expect(e).not.toBe(input)
    // the order of DESIGN's EventRecord and of what the stores return
    expect(Object.keys(e)).toEqual(['id', 'ts', 'kind', 'flow', 'step', 'data', 'meta'])
  })

  it('accepts null data, no step, offsets in ts, and drops an undefined step', () => {
    const e = parseEvent({ id: '0-1', ts: '2026-11-28T10:00:00+01:00', kind: 'flow.canceled', flow: 'r', data: null, step: undefined })
    expect(e).toEqual({ id: '0-1', ts: '2026-11-28T10:00:00+01:00', kind: 'flow.canceled', flow: 'r', data: null })
    expect('step' in e).toBe(false)
    expect('meta' in e).toBe(false)
  })

  it.each([
    ['not an object', null, 'object'],
    ['a string', 'event', 'object'],
    ['an array', [valid()], 'object'],
    ['no id', { ...valid(), id: undefined }, '"id"'],
    ['a numeric id', { ...valid(), id: 1700000000000 }, '"id"'],
    ['an id without seq', { ...valid(), id: '1700000000000' }, '"id"'],
    ['no ts', { ...valid(), ts: undefined }, '"ts"'],
    ['a numeric ts', { ...valid(), ts: 1700000000000 }, '"ts"'],
    ['a date-only ts', { ...valid(), ts: '2023-11-14' }, '"ts"'],
    ['an impossible ts', { ...valid(), ts: '2023-13-45T99:99:99Z' }, '"ts"'],
    ['an empty kind', { ...valid(), kind: '' }, '"kind"'],
    ['a numeric kind', { ...valid(), kind: 7 }, '"kind"'],
    ['no flow', { ...valid(), flow: undefined }, '"flow"'],
    ['a numeric step', { ...valid(), step: 5 }, '"step"'],
    ['no data', { ...valid(), data: undefined }, '"data"'],
    ['an array meta', { ...valid(), meta: [] }, '"meta"'],
    ['a null meta', { ...valid(), meta: null }, '"meta"'],
    ['a string meta', { ...valid(), meta: 'm' }, '"meta"'],
  ])('refuses %s with a typed INVALID_EVENT naming the field', (_what, value, field) => {
    const err = refusal(value)
    expect(err).toBeInstanceOf(InvalidEventError)
    expect(isLeanflowError(err, 'INVALID_EVENT')).toBe(true)
    expect(err.code).toBe('INVALID_EVENT')
    expect(err.status).toBe(400)
    expect(err.name).toBe('InvalidEventError')
    expect(err.message).toContain(field)
  })

  it('refuses huge bad strings quickly, with a short message', () => {
    const huge = 'x'.repeat(5_000_000)
    for (const bad of [
      { ...valid(), id: `${'1'.repeat(5_000_000)}-0` },
      { ...valid(), ts: `2023-11-14T22:13:20.000Z${huge}` },
      { ...valid(), step: 1, kind: huge },
    ]) {
      const err = refusal(bad)
      expect(err.code).toBe('INVALID_EVENT')
      expect(err.message.length).toBeLessThan(300)
    }
    // a huge but valid payload passes through untouched
    expect(parseEvent({ ...valid(), data: { blob: huge } }).data).toEqual({ blob: huge })
  })

  it('carries no prototype pollution from __proto__ keys', () => {
    const raw = JSON.parse(
      '{"__proto__":{"polluted":true,"id":"9-9"},"id":"1-0","ts":"2023-11-14T22:13:20.000Z","kind":"log","flow":"r","data":{"__proto__":{"polluted":true}},"meta":{"__proto__":{"polluted":true}}}',
    ) as unknown
    const e = parseEvent(raw)
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect(Object.getPrototypeOf(e)).toBe(Object.prototype)
    expect(Object.keys(e)).toEqual(['id', 'ts', 'kind', 'flow', 'data', 'meta'])
    expect(e.id).toBe('1-0')
    expect((e as unknown as Record<string, unknown>).polluted).toBeUndefined()
    // user data keeps its own "__proto__" key as plain data, and its prototype is untouched
    expect(Object.hasOwn(e.data as object, '__proto__')).toBe(true)
    expect(Object.getPrototypeOf(e.data)).toBe(Object.prototype)
    expect((e.data as Record<string, unknown>).polluted).toBeUndefined()
  })

  it('does not take the envelope from a __proto__ key', () => {
    const raw = JSON.parse('{"__proto__":{"id":"1-0","ts":"2023-11-14T22:13:20.000Z","kind":"log","flow":"r","data":1}}') as unknown
    expect(refusal(raw).code).toBe('INVALID_EVENT')
  })
})
