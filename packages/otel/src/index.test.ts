import { describe, expect, it } from 'vitest'

describe('@leanflow/otel public API', () => {
  it('exports exactly these values', async () => {
    expect(Object.keys(await import('./index.js')).sort()).toEqual([
      'SpanMapper',
      'attemptSpanId',
      'createIdGenerator',
      'formatTraceparent',
      'instrumentRunner',
      'parseTraceparent',
      'runSpanId',
      'traceOf',
    ])
  })
})
