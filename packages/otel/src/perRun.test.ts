import { describe, expect, it } from 'vitest'
import { PerRun } from './perRun.js'

describe('PerRun', () => {
  it('keeps entries per run; take removes and answers a run’s own, leaving the others', () => {
    const m = new PerRun<number>(10)
    m.set('r1', 'a', 1)
    m.set('r2', 'a', 2)
    m.set('r1', 'b', 3)
    m.set('r1', 'a', 4) // a new value, not a new entry
    expect(m.get('r1', 'a')).toBe(4)
    expect([...m.take('r1')]).toEqual([
      ['a', 4],
      ['b', 3],
    ])
    expect(m.get('r1', 'a')).toBeUndefined()
    expect(m.get('r2', 'a')).toBe(2)
    expect([...m.take('r9')]).toEqual([])
  })

  it('holds at most max entries in all: the oldest run’s oldest entry goes first, and a count freed by delete or take is reused', () => {
    const m = new PerRun<number>(3)
    m.set('r1', 'a', 1)
    m.set('r1', 'b', 2)
    m.set('r2', 'a', 3)
    m.set('r3', 'a', 4) // full: r1's a goes
    expect(m.get('r1', 'a')).toBeUndefined()
    expect(m.get('r1', 'b')).toBe(2)
    m.set('r3', 'b', 5) // full: r1's b goes, and r1 with it
    expect([...m.take('r1')]).toEqual([])
    m.delete('r2', 'a')
    m.set('r4', 'a', 6) // room after the delete: nothing goes
    expect([m.get('r3', 'a'), m.get('r3', 'b'), m.get('r4', 'a')]).toEqual([4, 5, 6])
    m.take('r3')
    m.set('r5', 'a', 7)
    m.set('r5', 'b', 8)
    expect([m.get('r4', 'a'), m.get('r5', 'a'), m.get('r5', 'b')]).toEqual([6, 7, 8])
  })
})
