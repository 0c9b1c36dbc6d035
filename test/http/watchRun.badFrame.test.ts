// watchRun against a real HTTP server that sends frames a leanflow server never would: a frame
// that is not JSON and one that is JSON but no event each reach onError once as an INVALID_EVENT
// error (isLeanflowError recognises it), and are neither applied nor passed to onEvent; the
// events around them are.
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { type FlowState, isLeanflowError } from '@leanflow/core'
import { type RunEnd, watchRun } from '@leanflow/http/client'
import { EventSource } from 'eventsource'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { waitFor } from '../helpers/waitFor.js'

const ts = '2026-01-01T00:00:00.000Z'
const frames = [
  `id: 1-0\ndata: ${JSON.stringify({ id: '1-0', ts, kind: 'flow.started', flow: 'r1', data: { name: 'f', input: 1 } })}\n\n`,
  'data: {not json\n\n',
  `data: ${JSON.stringify({ id: 'nope', ts, kind: 'log', flow: 'r1', data: { msg: 'x' } })}\n\n`,
  `id: 2-0\ndata: ${JSON.stringify({ id: '2-0', ts, kind: 'log', flow: 'r1', data: { msg: 'hello' } })}\n\n`,
  `id: 3-0\ndata: ${JSON.stringify({ id: '3-0', ts, kind: 'flow.completed', flow: 'r1', data: { result: 2 } })}\n\n`,
  `event: end\ndata: ${JSON.stringify({ lastEventId: '3-0', kind: 'flow.completed' })}\n\n`,
]

let server: http.Server
let origin: string

beforeAll(async () => {
  server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' })
    for (const f of frames) res.write(f)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(async () => {
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
})

it('a frame that is no event reaches onError as INVALID_EVENT; the events around it are applied', async () => {
  const errors: Error[] = []
  const seen: string[] = []
  let end: RunEnd | undefined
  let final: FlowState | undefined
  watchRun(`${origin}/flows/runs/r1/stream`, {
    EventSource,
    onEvent: (e) => seen.push(e.id),
    onError: (e) => errors.push(e),
    onEnd: (e, s) => {
      end = e
      final = s
    },
  })
  await waitFor(() => end !== undefined, 'the end')
  expect(seen).toEqual(['1-0', '2-0', '3-0'])
  expect(errors).toHaveLength(2)
  for (const err of errors) {
    expect(isLeanflowError(err, 'INVALID_EVENT')).toBe(true)
    expect(err).toMatchObject({ name: 'InvalidEventError', status: 400 })
  }
  expect(errors[0]?.message).toContain('{not json')
  expect(errors[1]?.message).toContain('"id":"nope"')
  expect(final).toMatchObject({ status: 'completed', result: 2, logs: [{ msg: 'hello' }] })
})

it('no EventSource to use (Node without the eventsource package): INVALID_ARGUMENT naming the fix, as every leanflow error', () => {
  const own = (globalThis as { EventSource?: unknown }).EventSource
  delete (globalThis as { EventSource?: unknown }).EventSource
  try {
    const err = (() => {
      try {
        watchRun(`${origin}/flows/runs/r1/stream`, {})
      } catch (e) {
        return e
      }
      return undefined
    })()
    expect(isLeanflowError(err, 'INVALID_ARGUMENT'), String(err)).toBe(true)
    expect((err as Error).message).toMatch(/watchRun\(url, \{ EventSource \}\)/)
  } finally {
    if (own !== undefined) (globalThis as { EventSource?: unknown }).EventSource = own
  }
})
