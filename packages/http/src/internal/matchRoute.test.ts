import { describe, expect, it } from 'vitest'
import { matchRoute, normalizeBasePath } from './matchRoute.js'

describe('matchRoute', () => {
  it('matches every route under a base path', () => {
    expect(matchRoute('GET', '/api', '/api')).toMatchObject({ action: 'flows.list', params: {} })
    expect(matchRoute('POST', '/api/order/runs/', '/api')).toMatchObject({ action: 'runs.start', params: { flow: 'order' } })
    expect(matchRoute('GET', '/api/runs/r%2D1/stream', '/api')).toMatchObject({ action: 'runs.stream', params: { runId: 'r-1' } })
    expect(matchRoute('POST', '/api/triggers/t1', '/api')).toMatchObject({ action: 'triggers.resolve', params: { triggerId: 't1' } })
    expect(matchRoute('GET', '/', '')).toMatchObject({ action: 'flows.list' })
  })
  it('refuses other paths, methods and names with their codes', () => {
    expect(() => matchRoute('GET', '/apix', '/api')).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }))
    expect(() => matchRoute('GET', '/api//', '/api')).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }))
    expect(() => matchRoute('GET', '/api/events', '/api')).toThrow(expect.objectContaining({ code: 'METHOD_NOT_ALLOWED' }))
    expect(() => matchRoute('GET', '/api/runs/a%2Fb', '/api')).toThrow(expect.objectContaining({ code: 'INVALID_NAME' }))
  })
  it('normalizes base paths', () => {
    expect(normalizeBasePath('flows/')).toBe('/flows')
    expect(normalizeBasePath('/')).toBe('')
  })
})
