// toNodeHandler answers a handler that throws with the same responder as every other error
// (internal/respond.ts): a LeanflowError keeps its status, anything else is a 500 INTERNAL that
// leaks nothing and goes to console.error. A real node:http server, a real fetch.
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { LeanflowError } from '@leanflow/core'
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { Handler } from './index.js'
import { toNodeHandler } from './node.js'

const servers: http.Server[] = []
afterEach(() => {
  vi.restoreAllMocks()
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

describe('toNodeHandler with a handler that throws', () => {
  it('answers 500 INTERNAL as JSON, leaks nothing and reports the error', async () => {
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {})
    const boom = new Error('secret-connection-string redis://admin:hunter2@db')
    const origin = await serve(async () => {
      throw boom
    })
    const res = await fetch(`${origin}/flows`)
    expect(res.status).toBe(500)
    expect(res.headers.get('content-type')).toMatch(/^application\/json/)
    const text = await res.text()
    expect(text).not.toMatch(/hunter2|secret/)
    expect(JSON.parse(text)).toEqual({ error: { code: 'INTERNAL', message: expect.any(String) } })
    expect(logged).toHaveBeenCalledWith('[leanflow/http]', boom)
  })

  it('keeps the status and message of a LeanflowError', async () => {
    const origin = await serve(async () => {
      throw new LeanflowError('NOT_FOUND', 'Nothing here.')
    })
    const res = await fetch(`${origin}/x`)
    expect(res.status).toBe(404)
    expect(await res.json()).toEqual({ error: { code: 'NOT_FOUND', message: 'Nothing here.' } })
  })
})
