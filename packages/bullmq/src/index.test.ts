import { describe, expect, it } from 'vitest'

describe('@leanflow/bullmq public API', () => {
  it('exports exactly these values', async () => {
    expect(Object.keys(await import('./index.js')).sort()).toEqual(['createBullMQQueue'])
  })
})
