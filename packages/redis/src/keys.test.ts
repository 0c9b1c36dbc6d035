import { isLeanflowError } from '@leanflow/core'
import { describe, expect, it } from 'vitest'
import { keySlot } from './internal/slot.js'
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

  it('names the run state keys: lookups in their own slot, external events all in the {events} slot', () => {
    expect(keys.leases('r1')).toBe('lf:{r1}:leases')
    expect(keys.lookup('trigger', 'T1')).toBe('lf:trigger:{T1}')
    expect(keys.lookup('start', 'order/key-1')).toBe('lf:start:{order/key-1}')
    expect(keys.externalSeq()).toBe('lf:{events}:seq')
    expect(keys.externalKind('payment.confirmed')).toBe('lf:{events}:k:payment.confirmed')
    expect(keys.externalWatchers('payment.confirmed')).toBe('lf:{events}:w:payment.confirmed')
    expect(keys.externalIdem('pub-1')).toBe('lf:{events}:i:pub-1')
    const slot = keySlot(keys.externalSeq())
    for (const k of [keys.externalKind('k'), keys.externalWatchers('k'), keys.externalIdem('x')]) expect(keySlot(k)).toBe(slot)
    expect(() => keys.externalKind('a:b')).toThrow(/Invalid event kind/)
    expect(() => keys.externalWatchers('')).toThrow(/Invalid event kind/)
  })

  it('puts every key of a run in the run slot and every index key of a flow in the flow slot', () => {
    const run = [...keys.runKeys('r1'), keys.state('r1'), keys.leases('r1'), keys.live('r1')]
    for (const k of run) expect(keySlot(k)).toBe(keySlot('{r1}'))
    const flow = [keys.flowRuns('order'), keys.flowDone('order'), keys.flowVersions('order'), keys.flowStatus('order', 'running')]
    for (const k of flow) expect(keySlot(k)).toBe(keySlot('{order}'))
  })

  it('puts every key of a limit scope in its `{lim:<scope>}` slot', () => {
    expect(keys.limitBase('order')).toBe('lf:{lim:order}')
    expect(keys.limitHeld('order/charge')).toBe('lf:{lim:order/charge}:held')
    expect(keys.limitSlots('order', 'concurrency.0', 't1')).toBe('lf:{lim:order}:h:concurrency.0:t1')
    expect(keys.limitWindow('order', 'rateLimit', '')).toBe('lf:{lim:order}:w:rateLimit:')
    expect(keys.limitLine('order', 'concurrency.0', 't1')).toBe('lf:{lim:order}:q:concurrency.0:t1')
    expect(keys.limitDebounce('order', '')).toBe('lf:{lim:order}:d:')
    const scope = 'order/charge'
    const all = [
      keys.limitHeld(scope),
      keys.limitWaiting(scope),
      keys.limitSlots(scope, 'c', 'k'),
      keys.limitWindow(scope, 'r', 'k'),
      keys.limitLine(scope, 'c', ''),
      keys.limitRing(scope),
      keys.limitSeq(scope),
      keys.limitSingletons(scope),
      keys.limitSingletonOf(scope),
      keys.limitSeen(scope),
      keys.limitSweep(scope),
      keys.limitDebounce(scope, 'u1'),
    ]
    for (const k of all) expect(keySlot(k)).toBe(keySlot('{lim:order/charge}'))
    expect(() => keys.limitHeld('a:b')).toThrow(/Invalid limit scope/)
    expect(() => keys.limitHeld('a/b/c')).toThrow(/Invalid limit scope/)
    expect(() => keys.limitSlots('order', 'c', 'a b')).toThrow(/Invalid name/)
  })

  it('keeps a prefix in every key', () => {
    const k = createKeys('app')
    const all = [
      ...k.runKeys('r'),
      k.state('r'),
      k.leases('r'),
      k.live('r'),
      k.flowRuns('f'),
      k.flowDone('f'),
      k.flowVersions('f'),
      k.flowStatus('f', 'failed'),
      k.flows(),
      k.lookup('trigger', 't'),
      k.externalSeq(),
      k.externalKind('k'),
      k.externalWatchers('k'),
      k.externalIdem('i'),
      k.limitHeld('f'),
      k.limitSlots('f/s', 'c', ''),
      k.limitDebounce('f', 'u'),
    ]
    for (const key of all) expect(key.startsWith('app:')).toBe(true)
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
