import { describe, expect, it } from 'vitest'

// The public API of each entry point: a change here shows in the diff.
describe('public API', () => {
  it('has these exports', async () => {
    expect(Object.keys(await import('./index.js')).sort()).toEqual(['createHandler', 'signTrigger'])
    expect(Object.keys(await import('./node.js')).sort()).toEqual(['sendWebResponse', 'toNodeHandler', 'toWebRequest'])
    expect(Object.keys(await import('./express.js')).sort()).toEqual(['toExpressHandler'])
    expect(Object.keys(await import('./hono.js')).sort()).toEqual(['toHonoHandler'])
    expect(Object.keys(await import('./h3.js')).sort()).toEqual(['toH3Handler'])
    expect(Object.keys(await import('./client.js')).sort()).toEqual(['watchRun'])
  })
})
