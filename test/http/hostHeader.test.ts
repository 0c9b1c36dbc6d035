// A request whose Host header makes no valid URL (`localhost:99999`, `a b`, `[::1`) is the
// client's fault: 400 INVALID_ARGUMENT as JSON through every adapter, never a 500 INTERNAL that
// reports a TypeError to the server log (node:http and Express build the URL from Host; h3 hands
// the handler a request whose `url` is that string, for the hosts it does not serve as usual).
// Hono's server refuses them itself (400). And a request target that starts with `//` is a path
// under node:http as under Express and Hono, never read as another host's URL.
import { createMemoryStreamStore } from '@leanflow/core'
import { createHandler } from '@leanflow/http'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { type RunningServer, rawHttp, startServer, TRANSPORTS } from '../helpers/httpMatrix.js'

const reported: unknown[] = []
const store = createMemoryStreamStore()
const handler = createHandler({ store, onError: (err) => reported.push(err) })

beforeAll(async () => {
  await store.append('r1', { kind: 'flow.started', flow: 'r1', data: { name: 'f', input: null, steps: {} } })
})

for (const transport of TRANSPORTS) {
  if (transport === 'handler') continue
  describe(`a malformed Host header [${transport}]`, () => {
    let server: RunningServer
    beforeAll(async () => {
      server = await startServer(transport, handler)
    })
    afterAll(() => server.stop())

    it.each(['localhost:99999', 'a b', '[::1'])('Host: %s is 400, not 500, and nothing is logged', async (host) => {
      const consoleError = vi.spyOn(console, 'error').mockImplementation(() => {})
      try {
        reported.length = 0
        const out = await rawHttp(server.port, `GET /flows/runs/r1 HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`)
        const status = Number(out.split(' ')[1])
        // h3 builds its request's URL itself: some of these hosts it serves as usual (200)
        if (transport === 'h3' && status === 200) return
        expect(status).toBe(400)
        if (transport !== 'hono') {
          expect(out).toMatch(/content-type: application\/json/i)
          expect(out).toContain('"code":"INVALID_ARGUMENT"')
          expect(out).toContain('does not make a valid URL')
        }
        expect(reported).toEqual([])
        expect(consoleError).not.toHaveBeenCalled()
      } finally {
        consoleError.mockRestore()
      }
    })
  })
}

for (const transport of ['node', 'express', 'hono'] as const) {
  describe(`a request target that starts with // [${transport}]`, () => {
    let server: RunningServer
    beforeAll(async () => {
      server = await startServer(transport, handler)
    })
    afterAll(() => server.stop())

    it('is the path it is (no route: 404), never another host with the path /flows/…', async () => {
      // a prefix check in front (`req.url.startsWith('/flows/')`) must see the path leanflow routes on
      const out = await rawHttp(server.port, 'GET //other.example/flows/runs/r1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
      expect(out.split('\r\n')[0]).toMatch(/^HTTP\/1\.1 404 /)
      expect(out).not.toContain('"state"')
    })
  })
}
