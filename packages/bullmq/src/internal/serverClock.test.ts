import { describe, expect, it } from 'vitest'
import { serverClock } from './serverClock.js'

describe('serverClock', () => {
  it("gives the server's time from one reading, read again in the background once stale", async () => {
    let reads = 0
    let serverMs = Date.now() - 5 * 60_000 // this process 5 minutes ahead of the server
    const now = serverClock(async () => {
      reads++
      return [String(Math.floor(serverMs / 1000)), String((serverMs % 1000) * 1000)]
    }, 20)
    const first = await now()
    expect(Math.abs(first - serverMs)).toBeLessThan(50)
    await now()
    expect(reads).toBe(1)
    await new Promise((r) => setTimeout(r, 30))
    serverMs = Date.now() + 60_000 // the server's clock moved: the next stale call reads again
    await now()
    await new Promise((r) => setTimeout(r, 5))
    expect(reads).toBe(2)
    expect(Math.abs((await now()) - (Date.now() + 60_000))).toBeLessThan(50)
  })

  it('fails the first call when the reading fails, and reads again on the next', async () => {
    let fail = true
    const now = serverClock(async () => {
      if (fail) throw new Error('down')
      return ['100', '500000']
    })
    await expect(now()).rejects.toThrow('down')
    fail = false
    expect(await now()).toBeGreaterThan(0)
  })
})
