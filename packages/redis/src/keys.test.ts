import { isLeanflowError } from '@leanflow/core'
import { describe, expect, it } from 'vitest'
import { createKeys } from './keys.js'

describe('createKeys', () => {
  const keys = createKeys('lf')

  it('hash-tags every key of a run with the run id, so they share one Cluster slot', () => {
    expect(keys.events('r1')).toBe('lf:{r1}:events')
    expect(keys.meta('r1')).toBe('lf:{r1}:meta')
    expect(keys.idem('r1')).toBe('lf:{r1}:idem')
    expect(keys.live('r1')).toBe('lf:{r1}:live')
    expect(keys.runKeys('r1')).toEqual(['lf:{r1}:events', 'lf:{r1}:meta', 'lf:{r1}:idem'])
    for (const k of keys.runKeys('r1')) expect(/\{([^}]*)\}/.exec(k)?.[1]).toBe('r1')
  })

  it('keeps the flow index in the flow slot, outside run slots', () => {
    expect(keys.flowRuns('order')).toBe('lf:flow:{order}:runs')
    expect(keys.flowDone('order')).toBe('lf:flow:{order}:done')
    expect(keys.flowStatus('order', 'awaiting')).toBe('lf:flow:{order}:status:awaiting')
    expect(keys.flowVersions('order')).toBe('lf:flow:{order}:versions')
    expect(keys.state('r1')).toBe('lf:{r1}:state')
    expect(keys.flows()).toBe('lf:flows')
    expect(createKeys('app.v2').events('x')).toBe('app.v2:{x}:events')
  })

  it.each(['a:b', 'a}b', '{x', 'x*', 'a b', 'a\nb', '', '__proto__'])('refuses run id %j before any key is built', (bad) => {
    let err: unknown
    try {
      keys.events(bad)
    } catch (e) {
      err = e
    }
    expect(isLeanflowError(err, 'INVALID_NAME')).toBe(true)
  })

  it('refuses reserved and hostile flow names, and bad prefixes', () => {
    expect(() => keys.flowRuns('runs')).toThrow(/reserved/)
    expect(() => keys.flowRuns('a:b')).toThrow(/Invalid flow name/)
    for (const p of ['', 'a:b', '{lf}', 'x y']) expect(() => createKeys(p)).toThrow(/Invalid key prefix/)
  })
})
