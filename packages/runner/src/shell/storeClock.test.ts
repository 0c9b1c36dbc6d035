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
    expect(Math.abs((await clock.recent()) - 5_000)).toBeLessThan(100) // fresh: the estimate
    expect(asks).toBe(1)
    jump = 60_000 // a stepped clock: the monotonic one did not move with it
    await clock.recent()
    expect(asks).toBe(2)
    delay = 40 // a slow ask is not trusted
    await clock.now()
    await clock.recent()
    expect(asks).toBe(4)
  })
})
