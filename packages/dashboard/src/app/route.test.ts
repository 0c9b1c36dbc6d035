import { describe, expect, it } from 'vitest'
import { hrefFlow, hrefRun, parseRoute } from './route.js'

describe('parseRoute', () => {
  it('reads the deep links of the design: #/flows/<flow> and #/runs/<runId>', () => {
    expect(parseRoute('')).toEqual({ view: 'flows' })
    expect(parseRoute('#/')).toEqual({ view: 'flows' })
    expect(parseRoute('#/flows')).toEqual({ view: 'flows' })
    expect(parseRoute('#/flows/order')).toEqual({ view: 'runs', flow: 'order' })
    expect(parseRoute('#/flows/order?status=failed')).toEqual({ view: 'runs', flow: 'order', status: 'failed' })
    expect(parseRoute('#/runs/AbC123')).toEqual({ view: 'run', runId: 'AbC123' })
    expect(parseRoute('#/schedules')).toEqual({ view: 'schedules' })
    expect(parseRoute('#/nope/x/y')).toEqual({ view: 'missing', hash: '#/nope/x/y' })
  })

  it('round-trips the links it makes, percent-decoding their parts', () => {
    expect(parseRoute(hrefFlow('a.b-c_d', 'queued'))).toEqual({ view: 'runs', flow: 'a.b-c_d', status: 'queued' })
    expect(parseRoute(hrefRun('r.1'))).toEqual({ view: 'run', runId: 'r.1' })
    expect(parseRoute('#/runs/%E0%A4%A')).toEqual({ view: 'run', runId: '%E0%A4%A' }) // malformed: kept as is (the API refuses it)
  })
})
