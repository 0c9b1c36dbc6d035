import { describe, expect, it } from 'vitest'
import type { AwaitRec } from '../machine/runDoc.js'
import { Execution } from './execution.js'

const rec = (at: number): AwaitRec => ({ t: 'time', at, state: 'pending', since: 0, attempt: 1 })

describe('Execution.inOrder', () => {
  it('writes awaits deferred right after a later call asked for its turn (a fast registration), then that call', async () => {
    const ex = new Execution('r', 's', 1, 'L', 'J', {} as never, null, [], {})
    const written: number[] = []
    ex.announceDeferred = async (list) => {
      for (const { pos, rec: r } of list) {
        written.push(pos)
        ex.records[pos] = r
      }
    }
    // a ctx.do at position 2 finished while the awaits at 0 and 1 were registering; they defer at once after
    const done = ex.inOrder(2, async () => {
      written.push(2)
      return 'recorded'
    })
    ex.defer(0, rec(10))
    ex.defer(1, rec(20))
    const hung = new Promise((r) => setTimeout(() => r('hung'), 1000))
    expect(await Promise.race([done, hung])).toBe('recorded')
    expect(written).toEqual([0, 1, 2])
  })
})
