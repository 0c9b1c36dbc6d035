import { describe, expect, it } from 'vitest'
import { StoreClock } from './storeClock.js'

describe('StoreClock.recent', () => {
  it('estimates after a quick ask, asks again after a slow one, and when the local clock jumped', async () => {
    let asks = 0
    let delay = 0
    let jump = 0
    const store = {
      now: async () => {
        asks++
        if (delay > 0) await new Promise((r) => setTimeout(r, delay))
        return 5_000
      },
    }
    // a worker's clock that keeps pace with the monotonic one, until it jumps
    const clock = new StoreClock(store, () => Math.round(1_000 + performance.now()) + jump)
    expect(await clock.recent()).toBe(5_000) // never measured: asked
    expect(asks).toBe(1)
    // fresh: the estimate, answered at once (a loaded machine may slow an ask past 20 ms, which is
    // then not trusted and asked again: until one is quick)
    let fresh = clock.recent()
    for (let i = 0; i < 20 && typeof fresh !== 'number'; i++) {
      await fresh
      fresh = clock.recent()
    }
    expect(typeof fresh).toBe('number')
    expect(Math.abs((fresh as number) - 5_000)).toBeLessThan(100)
    const trusted = asks
    jump = 60_000 // a stepped clock: the monotonic one did not move with it
    await clock.recent()
    expect(asks).toBe(trusted + 1)
    delay = 40 // a slow ask is not trusted
    await clock.now()
    await clock.recent()
    expect(asks).toBe(trusted + 3)
  })
})
