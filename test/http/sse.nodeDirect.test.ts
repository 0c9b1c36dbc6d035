// @leanflow/http/node writes a leanflow SSE stream straight to the ServerResponse (no Web stream
// in between) when the handler's Response body is still unread, also when middleware changed the
// Response's headers or wrapped its body in a new Response; a body that middleware already
// piped elsewhere is read as a Web stream. Real node:http servers, real fetch clients.
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { createMemoryStreamStore } from '@leanflow/core'
import { createHandler, type Handler } from '@leanflow/http'
import { toNodeHandler } from '@leanflow/http/node'
import { afterEach, describe, expect, it } from 'vitest'
import { memoryStoreInternals } from '../../packages/core/src/memoryStreamStore.js'
import { readSse, sseIdsUntilEnd } from '../helpers/httpMatrix.js'
import { waitFor } from '../helpers/waitFor.js'

const store = createMemoryStreamStore()
const base = createHandler({ store })
const servers: http.Server[] = []
afterEach(() => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections()
    s.close()
  }
})

async function serve(handler: Handler): Promise<string> {
  const server = http.createServer(toNodeHandler(handler))
  servers.push(server)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

/** Streams run `runId` to its end through `origin`, appending two notes and the end meanwhile; returns the headers and event ids. */
async function streamToEnd(origin: string, runId: string) {
  const ids = [(await store.append(runId, { kind: 'flow.started', flow: runId, data: { name: 'n', input: null, steps: {} } })).id]
  const res = await fetch(`${origin}/flows/runs/${runId}/stream`)
  const { ids: got, end } = await sseIdsUntilEnd(res, async (got) => {
    if (got.length !== 1) return
    for (let i = 0; i < 2; i++) ids.push((await store.append(runId, { kind: 'user.note', flow: runId, data: { i } })).id)
    ids.push((await store.append(runId, { kind: 'flow.completed', flow: runId, data: { duration: 1 } })).id)
  })
  return { res, got, ids, end }
}

describe('SSE through @leanflow/http/node', () => {
  it('writes the stream directly (the body is never read) and keeps headers middleware added', async () => {
    const seen: Response[] = []
    const origin = await serve(async (req) => {
      const r = await base(req)
      r.headers.set('access-control-allow-origin', '*')
      seen.push(r)
      return r
    })
    const { res, got, ids, end } = await streamToEnd(origin, 'direct-1')
    expect(res.headers.get('access-control-allow-origin')).toBe('*')
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/)
    expect(res.headers.get('transfer-encoding')).toBeNull() // close-delimited: one buffer per frame
    expect(end).toBe(true)
    expect(got).toEqual(ids)
    expect(seen[0]?.body?.locked).toBe(false) // the node adapter did not read it: it wrote to the socket itself
  })

  it('streams a body middleware wrapped in a new Response', async () => {
    const origin = await serve(async (req) => {
      const r = await base(req)
      return new Response(r.body, { status: r.status, headers: { ...Object.fromEntries(r.headers), 'x-wrapped': '1' } })
    })
    const { res, got, ids, end } = await streamToEnd(origin, 'direct-2')
    expect(res.headers.get('x-wrapped')).toBe('1')
    expect(end).toBe(true)
    expect(got).toEqual(ids)
  })

  it('reads the Web stream when middleware piped the body through a transform', async () => {
    const origin = await serve(async (req) => {
      const r = await base(req)
      if (r.body === null) return r
      return new Response(r.body.pipeThrough(new TransformStream()), { status: r.status, headers: r.headers })
    })
    const { got, ids, end } = await streamToEnd(origin, 'direct-3')
    expect(end).toBe(true)
    expect(got).toEqual(ids)
  })

  it('releases the follow as soon as the client goes away', async () => {
    const runs = memoryStoreInternals(store)
    const before = runs.followerCount()
    const origin = await serve(base)
    await store.append('direct-4', { kind: 'flow.started', flow: 'direct-4', data: { name: 'n', input: null, steps: {} } })
    const ac = new AbortController()
    const res = await fetch(`${origin}/flows/runs/direct-4/stream`, { signal: ac.signal })
    for await (const f of readSse(res)) if (f.id !== undefined) break
    expect(runs.followerCount()).toBe(before + 1)
    ac.abort()
    await waitFor(() => runs.followerCount() === before, 'the follow to be released')
  })
})
