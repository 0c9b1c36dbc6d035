import { describe, expect, it } from 'vitest'

describe('@leanflow/runner public API', () => {
  it('exports exactly these values', async () => {
    expect(Object.keys(await import('./index.js')).sort()).toEqual([
      'DEFAULT_RETRY',
      'createMemoryQueue',
      'createRunner',
      'defineFlow',
      'isRetriable',
      'normalizeRetry',
      'retryDelay',
    ])
  })
})
