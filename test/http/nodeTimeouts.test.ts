// What docs/operations.md says about Node's server timeouts, checked on a real node:http server
// running the leanflow handler with short limits: `requestTimeout` and `headersTimeout` cut a
// client that sends its body or headers too slowly (408), but never an SSE stream, which lives
// on long past `requestTimeout`; `headersTimeout` counts per request, not the idle time before
// it on a keep-alive connection. A body cut by the server is no error for `onError`.
import http from 'node:http'
import net, { type AddressInfo } from 'node:net'
import { createMemoryStreamStore, type MemoryStreamStore } from '@leanflow/core'
import { createHandler } from '@leanflow/http'
import { toNodeHandler } from '@leanflow/http/node'
import { createRunner } from '@leanflow/runner'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { readSse } from '../helpers/httpMatrix.js'
import { waitFor } from '../helpers/waitFor.js'

const REQUEST_TIMEOUT = 500
const HEADERS_TIMEOUT = 300

let store: MemoryStreamStore
/** What reached the handler's onError: a client cut mid-body is not a server fault. */
const reported: unknown[] = []
let server: http.Server
let port: number

beforeAll(async () => {
  store = createMemoryStreamStore()
  server = http.createServer(
    { requestTimeout: REQUEST_TIMEOUT, headersTimeout: HEADERS_TIMEOUT, keepAliveTimeout: 5000, connectionsCheckingInterval: 50 },
    toNodeHandler(
      createHandler({ store, runner: createRunner({ store, flows: [] }), heartbeatMs: 200, onError: (err) => reported.push(err) }),
    ),
  )
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', () => ok()))
  port = (server.address() as AddressInfo).port
})
afterAll(async () => {
  server.closeAllConnections()
  await new Promise((ok) => server.close(ok))
})

/** A raw TCP client: what it read, and when the server closed it. */
function rawClient() {
  const socket = net.connect(port, '127.0.0.1')
  const started = Date.now()
  let text = ''
  let closedAfter: number | undefined
  socket.on('data', (d: Buffer) => {
    text += d.toString()
  })
  socket.on('close', () => {
    closedAfter = Date.now() - started
  })
  socket.on('error', () => {})
  return { socket, text: () => text, closedAfter: () => closedAfter }
}

it('an SSE stream outlives requestTimeout many times over and still gets live events', async () => {
  const runId = 'long'
  await store.append(runId, { kind: 'flow.started', flow: runId, data: { name: 'long', input: null, steps: {} } })
  const opened = Date.now()
  const res = await fetch(`http://127.0.0.1:${port}/flows/runs/${runId}/stream`)
  expect(res.status).toBe(200)
  const kinds: string[] = []
  let appended = false
  for await (const f of readSse(res)) {
    if (f.data !== undefined && f.event === undefined) kinds.push((JSON.parse(f.data) as { kind: string }).kind)
    if (f.event === 'end') break
    // heartbeats keep coming; once the stream is 4 × requestTimeout old, the run goes on and ends
    if (!appended && f.comment === '' && Date.now() - opened > 4 * REQUEST_TIMEOUT) {
      appended = true
      await store.append(runId, { kind: 'user.late', flow: runId, data: {} })
      await store.append(runId, { kind: 'flow.completed', flow: runId, data: { duration: 1 } })
    }
  }
  expect(kinds).toEqual(['flow.started', 'user.late', 'flow.completed'])
  expect(Date.now() - opened).toBeGreaterThan(4 * REQUEST_TIMEOUT)
})

it('a body sent a byte at a time is cut with 408 after requestTimeout', async () => {
  const c = rawClient()
  c.socket.write('POST /flows/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n')
  await dripUntilClosed(c, ' ')
  expect(c.text()).toMatch(/^HTTP\/1\.1 408 /)
  expect(c.closedAfter()).toBeGreaterThanOrEqual(REQUEST_TIMEOUT - 50)
  // the handler that was reading the body sees it fail: a 400 nobody reads, not a reported 500
  const published = await fetch(`http://127.0.0.1:${port}/flows/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"kind":"after.cut"}',
  })
  expect(published.status).toBe(202)
  expect(reported).toEqual([])
})

it('headers sent a line at a time are cut with 408 after headersTimeout', async () => {
  const c = rawClient()
  c.socket.write('GET /flows HTTP/1.1\r\nHost: x\r\n')
  await dripUntilClosed(c, 'X-Slow: 1\r\n')
  expect(c.text()).toMatch(/^HTTP\/1\.1 408 /)
})

it('headersTimeout counts per request: a keep-alive connection idle for longer still serves the next one', async () => {
  const c = rawClient()
  const request = 'GET /flows HTTP/1.1\r\nHost: x\r\n\r\n'
  c.socket.write(request)
  await waitFor(() => c.text().includes('"flows"'), 'the first answer')
  const idleFrom = Date.now()
  // idle on the open connection for 3 × headersTimeout, watching that the server keeps it
  await waitFor(() => Date.now() - idleFrom > 3 * HEADERS_TIMEOUT || c.closedAfter() !== undefined, 'the idle time', 5000)
  expect(c.closedAfter()).toBeUndefined()
  c.socket.write(request)
  await waitFor(() => (c.text().match(/HTTP\/1\.1 200/g) ?? []).length === 2, 'the second answer')
  c.socket.end()
})

/** Writes `chunk` every 50 ms (a slow client) until the server closes the connection. */
async function dripUntilClosed(c: ReturnType<typeof rawClient>, chunk: string): Promise<void> {
  const drip = setInterval(() => {
    if (!c.socket.destroyed) c.socket.write(chunk)
  }, 50)
  try {
    await waitFor(() => c.closedAfter() !== undefined, 'the server to close the slow client', 5000)
  } finally {
    clearInterval(drip)
  }
}
