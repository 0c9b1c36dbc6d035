import { describe, expect, it } from 'vitest'

describe('@leanflow/testing public API', () => {
  it('exports exactly these values', async () => {
    expect(Object.keys(await import('./index.js')).sort()).toEqual([
      'describeJobQueueConformance',
      'describeLimitStoreConformance',
      'describeRunStateConformance',
      'describeScheduleStoreConformance',
      'describeStreamStoreConformance',
      'eventually',
      'sleep',
      'uniqueName',
      'within',
    ])
  })
})
