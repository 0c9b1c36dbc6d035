import { describe, expect, it } from 'vitest'
import { type BusEvent, EventBus } from './eventBus.js'

const e = (kind: string, n = 0): BusEvent => ({ kind, flow: 'r1', data: { n } })

describe('EventBus', () => {
  it('delivers by kind to onKind listeners and everything to onAny listeners', () => {
    const bus = new EventBus()
    const a: string[] = []
    const any: string[] = []
    bus.onKind('a', (x) => void a.push(x.kind))
    bus.onAny((x) => void any.push(x.kind))
    bus.publish(e('a'))
    bus.publish(e('b'))
    bus.publish(e('a'))
    expect(a).toEqual(['a', 'a'])
    expect(any).toEqual(['a', 'b', 'a'])
  })

  it('unsubscribes with the returned function, once', () => {
    const bus = new EventBus()
    const seen: number[] = []
    const off = bus.onKind('a', (x) => void seen.push((x.data as { n: number }).n))
    const offAny = bus.onAny(() => {})
    expect(bus.listenerCount('a')).toBe(1)
    expect(bus.listenerCount()).toBe(2)
    bus.publish(e('a', 1))
    off()
    off()
    bus.publish(e('a', 2))
    expect(seen).toEqual([1])
    offAny()
    expect(bus.listenerCount()).toBe(0)
  })

  it('the same function subscribed twice is two subscriptions, removed one at a time', () => {
    const bus = new EventBus()
    let n = 0
    const fn = () => void n++
    const off1 = bus.onKind('a', fn)
    bus.onKind('a', fn)
    bus.publish(e('a'))
    off1()
    bus.publish(e('a'))
    expect(n).toBe(3)
  })

  it('reports a throwing or rejecting listener to onError and still runs the others', async () => {
    const errors: Array<[unknown, string]> = []
    const bus = new EventBus({ onError: (err, ev) => errors.push([err, ev.kind]) })
    const seen: string[] = []
    bus.onKind('a', () => {
      throw new Error('boom')
    })
    bus.onKind('a', () => void seen.push('second'))
    bus.onAny(async () => {
      throw new Error('async boom')
    })
    bus.onAny(() => void seen.push('any'))
    expect(() => bus.publish(e('a'))).not.toThrow()
    expect(seen).toEqual(['second', 'any'])
    await new Promise((r) => setTimeout(r, 0))
    expect(errors.map(([err, kind]) => [(err as Error).message, kind])).toEqual([
      ['boom', 'a'],
      ['async boom', 'a'],
    ])
  })

  it('survives an onError that throws', () => {
    const bus = new EventBus({
      onError: () => {
        throw new Error('bad handler')
      },
    })
    let ran = false
    bus.onAny(() => {
      throw new Error('x')
    })
    bus.onAny(() => {
      ran = true
    })
    expect(() => bus.publish(e('a'))).not.toThrow()
    expect(ran).toBe(true)
  })

  it('keeps kinds apart, including names of Object.prototype members', () => {
    const bus = new EventBus()
    const seen: string[] = []
    bus.onKind('constructor', (x) => void seen.push(x.kind))
    bus.onKind('toString', (x) => void seen.push(x.kind))
    bus.publish(e('constructor'))
    bus.publish(e('hasOwnProperty'))
    expect(seen).toEqual(['constructor'])
  })

  it('a publish reaches the listeners subscribed when it began, whatever they (un)subscribe meanwhile', () => {
    const bus = new EventBus()
    const seen: string[] = []
    let offB = () => {}
    bus.onKind('a', (x) => {
      seen.push(`a1:${(x.data as { n: number }).n}`)
      offB()
      bus.onKind('a', () => void seen.push('late'))
    })
    offB = bus.onKind('a', () => void seen.push('b'))
    bus.publish(e('a', 1))
    expect(seen).toEqual(['a1:1', 'b'])
    seen.length = 0
    bus.publish(e('a', 2))
    expect(seen).toEqual(['a1:2', 'late'])
    expect(bus.listenerCount('a')).toBe(3)
  })
})
