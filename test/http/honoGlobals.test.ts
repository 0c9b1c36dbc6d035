// @hono/node-server puts its lightweight Response on globalThis (getRequestListener, serve): such
// a Response rebuilds itself from its constructor's init on the first read of its body, so a
// header middleware set on it was dropped when the node adapter read the body before the headers.
// The adapter reads the headers first. Real node:http server, real fetch, hono's real globals.
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { getRequestListener } from '@hono/node-server'
import { createMemoryStreamStore } from '@leanflow/core'
import { createHandler } from '@leanflow/http'
import { toNodeHandler } from '@leanflow/http/node'
import { afterAll, beforeAll, expect, it } from 'vitest'

const saved = { Request: globalThis.Request, Response: globalThis.Response }
const store = createMemoryStreamStore()
let server: http.Server
let origin = ''

beforeAll(async () => {
  // installs hono's globals, as its serve() does (a file before this one in the worker may have already)
  getRequestListener(() => new Response('hono'))
  expect(globalThis.Response.name).toBe('_Response') // hono's lightweight class
  const base = createHandler({ store })
  server = http.createServer(
    toNodeHandler(async (req) => {
      const r = await base(req)
      r.headers.set('x-added', 'by middleware')
      return r
    }),
  )
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(async () => {
  if (server) {
    server.closeAllConnections()
    await new Promise((r) => server.close(r))
  }
  // the globals as this file found them
  Object.defineProperty(globalThis, 'Request', { value: saved.Request })
  Object.defineProperty(globalThis, 'Response', { value: saved.Response })
  await store.close()
})

it('a header middleware set on a JSON answer and on an SSE stream reaches the client', async () => {
  const runs = await fetch(`${origin}/flows/f/runs`)
  expect(runs.status).toBe(200)
  expect(runs.headers.get('x-added')).toBe('by middleware')
  await store.append('h-1', { kind: 'flow.started', flow: 'f', data: { name: 'f', input: null, steps: {} } })
  await store.append('h-1', { kind: 'flow.completed', flow: 'f', data: { duration: 1 } })
  const stream = await fetch(`${origin}/flows/runs/h-1/stream`)
  expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/)
  expect(stream.headers.get('x-added')).toBe('by middleware')
  expect(await stream.text()).toContain('flow.completed')
})
