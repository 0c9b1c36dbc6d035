import { describe, expect, it } from 'vitest'
import type { Scope } from './memoryLimitScope.js'
import { createMemoryLimits } from './memoryLimits.js'

describe('createMemoryLimits: keyed rate limits', () => {
  it('do not pile up: windows that expired leave no usage entry, limit or window behind, with no limitUsage call', async () => {
    let t = 1_000_000
    const scopes = new Map<string, Scope>()
    const limits = createMemoryLimits(() => t, scopes)
    const rate = (key: string) => ({ id: 'rateLimit', kind: 'rate', key, limit: 5, periodMs: 200 }) as const
    // 900 users, each admitted once (a key per user), 300 per period
    for (let round = 0; round < 3; round++) {
      for (let i = round * 300; i < (round + 1) * 300; i++) {
        expect((await limits.acquireLimit('sync', { holder: `r${i}~s`, needs: [rate(`u${i}`)] })).state).toBe('admitted')
        await limits.releaseLimit('sync', `r${i}~s`)
      }
      t += 300 // every window so far expired
    }
    const s = scopes.get('sync') as Scope
    expect(s.seen.size, `${s.seen.size} usage entries left of 900 keys`).toBeLessThan(450)
    expect(s.windows.size).toBeLessThanOrEqual(s.seen.size)
    expect(s.limits.size).toBeLessThanOrEqual(s.seen.size)
    // a key whose window still counts keeps its entry, and limits still hold
    t -= 300
    expect((await limits.acquireLimit('sync', { holder: 'again~s', needs: [rate('u899')] })).state).toBe('admitted')
    expect(s.seen.has('rateLimit|u899')).toBe(true)
    expect((await limits.limitUsage('sync')).find((u) => u.key === 'u899')?.active).toBe(2)
  })
})
