import { describe, expect, it, vi } from 'vitest'
import { isLeanflowError } from './errors.js'
import type { NewEvent } from './events.js'
import { validateAppend } from './validateAppend.js'

const limits = { maxEventBytes: 1024 }
const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn()
  } catch (err) {
    return isLeanflowError(err) ? err.code : String(err)
  }
  return undefined
}

describe('validateAppend', () => {
  it('serializes the envelope once, flow = the run id, absent data null, step and meta only when given', () => {
    const a = validateAppend('r1', { kind: 'k', flow: 'other', data: undefined }, undefined, limits)
    expect(a).toEqual({ json: '{"kind":"k","flow":"r1","data":null}', flowName: undefined, idempotencyKey: undefined })
    const b = validateAppend('r1', { kind: 'k', flow: 'r1', step: 's', data: [1], meta: { attempt: 2 } }, { idempotencyKey: 'i' }, limits)
    expect(b.json).toBe('{"kind":"k","flow":"r1","step":"s","data":[1],"meta":{"attempt":2}}')
    expect(b.idempotencyKey).toBe('i')
    expect(validateAppend('r1', { kind: 'flow.started', flow: 'r1', data: { name: 'order' } }, {}, limits).flowName).toBe('order')
  })

  it('refuses with the codes every store shares', () => {
    const ev = (e: Partial<NewEvent> & Record<string, unknown>) => ({ kind: 'k', flow: 'r', data: 1, ...e }) as NewEvent
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    expect(codeOf(() => validateAppend('a:b', ev({}), {}, limits))).toBe('INVALID_NAME')
    expect(codeOf(() => validateAppend('r', ev({ kind: 'a b' }), {}, limits))).toBe('INVALID_NAME')
    expect(codeOf(() => validateAppend('r', ev({ step: '' }), {}, limits))).toBe('INVALID_NAME')
    expect(codeOf(() => validateAppend('r', ev({ kind: 'flow.started', data: { name: 'events' } }), {}, limits))).toBe('INVALID_NAME')
    expect(codeOf(() => validateAppend('r', null as never, {}, limits))).toBe('INVALID_EVENT')
    expect(codeOf(() => validateAppend('r', [] as never, {}, limits))).toBe('INVALID_EVENT')
    expect(codeOf(() => validateAppend('r', ev({ meta: [] as never }), {}, limits))).toBe('INVALID_EVENT')
    expect(codeOf(() => validateAppend('r', ev({ meta: new Date(0) as never }), {}, limits))).toBe('INVALID_EVENT')
    expect(codeOf(() => validateAppend('r', ev({ meta: new Map() as never }), {}, limits))).toBe('INVALID_EVENT')
    // the message names what was given
    expect(() => validateAppend('r', ev({ meta: null as never }), {}, limits)).toThrow(/got null:/)
    expect(() => validateAppend('r', ev({ meta: new Date(0) as never }), {}, limits)).toThrow(/got a Date:/)
    expect(() => validateAppend('r', ev({ data: () => 1 }), {}, limits)).toThrow(/data a function is no JSON value/)
    const bare = Object.assign(Object.create(null), { toJSON: () => undefined })
    expect(() => validateAppend('r', ev({ data: bare }), {}, limits)).toThrow(/data an object is no JSON value/)
    expect(validateAppend('r', ev({ meta: Object.assign(Object.create(null), { a: 1 }) }), {}, limits).json).toContain('"meta":{"a":1}')
    for (const data of [cyclic, 1n, () => 1, Symbol('x'), { toJSON: () => undefined }]) {
      expect(codeOf(() => validateAppend('r', ev({ data }), {}, limits))).toBe('INVALID_EVENT')
      expect(codeOf(() => validateAppend('r', ev({ data, step: 'st' }), {}, limits))).toBe('INVALID_EVENT')
    }
    for (const key of ['', 'k'.repeat(513), 7]) {
      expect(codeOf(() => validateAppend('r', ev({}), { idempotencyKey: key as never }, limits))).toBe('INVALID_ARGUMENT')
    }
    expect(codeOf(() => validateAppend('r', ev({ data: 'x'.repeat(2000) }), {}, limits))).toBe('PAYLOAD_TOO_LARGE')
  })

  it('refuses limits whose maxEventBytes is no number above 0 (NaN skipped the size check; none threw a raw TypeError)', () => {
    for (const limits of [{ maxEventBytes: Number.NaN }, { maxEventBytes: 0 }, {}, undefined]) {
      expect(() => validateAppend('r1', { kind: 'a', flow: 'r1', data: 1 }, undefined, limits as never)).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('validateAppend limits.maxEventBytes') }),
      )
    }
  })

  it('counts UTF-8 bytes only for JSON longer than a third of the limit, with the given counter', () => {
    const byteLength = vi.fn((text: string) => new TextEncoder().encode(text).length)
    validateAppend('r', { kind: 'k', flow: 'r', data: 'x'.repeat(100) }, {}, { maxEventBytes: 1024, byteLength })
    expect(byteLength).not.toHaveBeenCalled()
    const json = validateAppend('r', { kind: 'k', flow: 'r', data: 'é'.repeat(400) }, {}, { maxEventBytes: 1024, byteLength }).json
    expect(byteLength).toHaveBeenCalledWith(json)
    expect(codeOf(() => validateAppend('r', { kind: 'k', flow: 'r', data: 'é'.repeat(600) }, {}, { maxEventBytes: 1024 }))).toBe(
      'PAYLOAD_TOO_LARGE',
    )
  })
})
