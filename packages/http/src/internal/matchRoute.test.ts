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
  it('matches the schedule routes before a flow named like them', () => {
    expect(matchRoute('GET', '/api/schedules/', '/api')).toMatchObject({ action: 'schedules.read', params: {}, needsRunner: 'schedules' })
    for (const verb of ['pause', 'resume', 'trigger']) {
      expect(matchRoute('POST', `/api/schedules/nightly/${verb}`, '/api')).toMatchObject({
        action: 'schedules.write',
        name: `schedules.${verb}`,
        params: { scheduleId: 'nightly' },
        jsonBody: true,
      })
    }
    // `schedules` is a reserved flow name: no flow's run list, and not a schedule id route either
    expect(() => matchRoute('GET', '/api/schedules/runs', '/api')).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }))
    expect(() => matchRoute('POST', '/api/schedules/x/stop', '/api')).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }))
    expect(() => matchRoute('GET', '/api/schedules/x/pause', '/api')).toThrow(
      expect.objectContaining({ code: 'METHOD_NOT_ALLOWED', allow: 'POST' }),
    )
    expect(() => matchRoute('POST', '/api/schedules', '/api')).toThrow(
      expect.objectContaining({ code: 'METHOD_NOT_ALLOWED', allow: 'GET' }),
    )
    expect(() => matchRoute('POST', '/api/schedules/a%3Ab/pause', '/api')).toThrow(expect.objectContaining({ code: 'INVALID_NAME' }))
  })
  it('matches GET /:flow/limits, and not after a reserved first segment', () => {
    expect(matchRoute('GET', '/api/order/limits/', '/api')).toMatchObject({
      action: 'limits.read',
      name: 'limits',
      params: { flow: 'order' },
      needsRunner: 'limits',
      jsonBody: false,
    })
    // a flow may be named `limits`: its run list and its limits
    expect(matchRoute('GET', '/api/limits/runs', '/api')).toMatchObject({ action: 'runs.list', params: { flow: 'limits' } })
    expect(matchRoute('GET', '/api/limits/limits', '/api')).toMatchObject({ action: 'limits.read', params: { flow: 'limits' } })
    // `/runs/limits` is the run "limits", never the limits of a flow named `runs`
    expect(matchRoute('GET', '/api/runs/limits', '/api')).toMatchObject({ action: 'runs.read', name: 'run', params: { runId: 'limits' } })
    for (const path of ['/api/schedules/limits', '/api/events/limits', '/api/order/limits/x']) {
      expect(() => matchRoute('GET', path, '/api'), path).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }))
    }
    expect(() => matchRoute('POST', '/api/order/limits', '/api')).toThrow(
      expect.objectContaining({ code: 'METHOD_NOT_ALLOWED', allow: 'GET' }),
    )
    expect(() => matchRoute('GET', '/api/a%3Ab/limits', '/api')).toThrow(expect.objectContaining({ code: 'INVALID_NAME' }))
  })
  it('matches GET /:flow/counts (runs.list), and /runs/counts is the run "counts"', () => {
    expect(matchRoute('GET', '/api/order/counts/', '/api')).toMatchObject({
      action: 'runs.list',
      name: 'counts',
      params: { flow: 'order' },
      needsRunner: false,
    })
    expect(matchRoute('GET', '/api/runs/counts', '/api')).toMatchObject({ name: 'run', params: { runId: 'counts' } })
    expect(() => matchRoute('GET', '/api/schedules/counts', '/api')).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }))
    expect(() => matchRoute('POST', '/api/order/counts', '/api')).toThrow(
      expect.objectContaining({ code: 'METHOD_NOT_ALLOWED', allow: 'GET' }),
    )
  })
  it('matches GET /runs/:runId/children (runs.read), and /runs/children is the run "children"', () => {
    expect(matchRoute('GET', '/api/runs/r-1/children/', '/api')).toMatchObject({
      action: 'runs.read',
      name: 'children',
      params: { runId: 'r-1' },
      needsRunner: false,
      jsonBody: false,
    })
    expect(matchRoute('GET', '/api/runs/children', '/api')).toMatchObject({ name: 'run', params: { runId: 'children' } })
    expect(() => matchRoute('POST', '/api/runs/r-1/children', '/api')).toThrow(
      expect.objectContaining({ code: 'METHOD_NOT_ALLOWED', allow: 'GET' }),
    )
    expect(() => matchRoute('GET', '/api/runs/r-1/children/x', '/api')).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }))
    expect(() => matchRoute('GET', '/api/runs/a%3Ab/children', '/api')).toThrow(expect.objectContaining({ code: 'INVALID_NAME' }))
  })
  it('normalizes base paths', () => {
    expect(normalizeBasePath('flows/')).toBe('/flows')
    expect(normalizeBasePath('/')).toBe('')
  })
})
