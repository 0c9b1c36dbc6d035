import { describe, expect, it } from 'vitest'
import { createIdGenerator, withIds } from './idGenerator.js'
import { attemptSpanId, formatTraceparent, parseTraceparent, runSpanId, traceOf } from './ids.js'

const TP = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'

describe('ids derived from the run', () => {
  it('are the same in every process (pure functions of the run), distinct per run, step and attempt, and valid OTel ids', () => {
    const t = traceOf('run1', undefined)
    expect(t).toEqual(traceOf('run1', undefined))
    expect(t.traceId).toMatch(/^[0-9a-f]{32}$/)
    expect(t.traceFlags).toBe(1)
    expect(t.parentSpanId).toBeUndefined()
    expect(traceOf('run2', undefined).traceId).not.toBe(t.traceId)
    const ids = new Set([
      runSpanId(t.traceId, 'run1'),
      attemptSpanId(t.traceId, 'run1', 'a', 1),
      attemptSpanId(t.traceId, 'run1', 'a', 2),
      attemptSpanId(t.traceId, 'run1', 'b', 1),
      attemptSpanId(t.traceId, 'run2', 'a', 1),
    ])
    expect(ids.size).toBe(5)
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{16}$/)
    expect(attemptSpanId(t.traceId, 'run1', 'a', 1)).toBe(attemptSpanId(t.traceId, 'run1', 'a', 1))
  })

  it("take the caller's trace from a traceparent: its trace id and flags, its span as the run span's parent", () => {
    const t = traceOf('run1', TP)
    expect(t).toEqual({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', traceFlags: 1, parentSpanId: '00f067aa0ba902b7' })
    expect(runSpanId(t.traceId, 'run1')).not.toBe(runSpanId(traceOf('run1', undefined).traceId, 'run1'))
    // a malformed traceparent is ignored (derived trace)
    expect(traceOf('run1', 'garbage')).toEqual(traceOf('run1', undefined))
  })

  it('parses and formats W3C traceparent values; refuses invalid ones', () => {
    expect(parseTraceparent(TP)).toEqual({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', traceFlags: 1 })
    expect(formatTraceparent({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', traceFlags: 1 })).toBe(TP)
    for (const bad of [undefined, 42, '', 'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', TP.replace('4bf9', 'XYZ0')]) {
      expect(parseTraceparent(bad)).toBeUndefined()
    }
    expect(parseTraceparent('00-00000000000000000000000000000000-00f067aa0ba902b7-01')).toBeUndefined()
    expect(parseTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01')).toBeUndefined()
    // a later version may carry more fields after the flags (the first four are read); version 00 may not
    expect(parseTraceparent('cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-ever')).toEqual({
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      spanId: '00f067aa0ba902b7',
      traceFlags: 1,
    })
    expect(parseTraceparent(`${TP}-extra`)).toBeUndefined()
  })

  it('the id generator hands out the pending ids inside withIds, random (or the fallback) ids outside', () => {
    const gen = createIdGenerator()
    expect(withIds({ traceId: 'a'.repeat(32), spanId: 'b'.repeat(16) }, () => [gen.generateTraceId(), gen.generateSpanId()])).toEqual([
      'a'.repeat(32),
      'b'.repeat(16),
    ])
    expect(gen.generateTraceId()).toMatch(/^[0-9a-f]{32}$/)
    expect(gen.generateSpanId()).not.toBe('b'.repeat(16))
    const fixed = createIdGenerator({ generateTraceId: () => 'c'.repeat(32), generateSpanId: () => 'd'.repeat(16) })
    expect(fixed.generateSpanId()).toBe('d'.repeat(16))
  })
})
