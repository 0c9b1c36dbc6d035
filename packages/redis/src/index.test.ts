import { describe, expect, it } from 'vitest'

// A change to the public API shows up in this diff.
describe('@leanflow/redis public API', () => {
  it('exports exactly these values', async () => {
    expect(Object.keys(await import('./index.js')).sort()).toEqual(['createKeys', 'createRedisRunStateStore', 'createRedisStreamStore'])
  })
})
