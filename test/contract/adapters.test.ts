// @leanflow/http/express behind the body parsers an Express app commonly mounts first (DESIGN.md: adapters only translate).
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createMemoryStreamStore } from '@leanflow/core'
import { createHandler, signTrigger } from '@leanflow/http'
import { toExpressHandler } from '@leanflow/http/express'
import { createRunner, defineFlow } from '@leanflow/runner'
import express from 'express'
import { afterAll, beforeAll, expect, it } from 'vitest'

const store = createMemoryStreamStore()
const runner = createRunner({ store, flows: [defineFlow({ name: 'f', steps: { s: { handler: async () => 1 } } })] })
const servers: Server[] = []
const bases: Record<'json' | 'raw' | 'plain', string> = { json: '', raw: '', plain: '' }

async function listen(app: express.Express): Promise<string> {
  const server = app.listen(0, '127.0.0.1')
  await new Promise((r) => server.once('listening', r))
  servers.push(server)
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/flows`
}

beforeAll(async () => {
  const handler = createHandler({ store, runner, triggerSecret: 'k' })
  const json = express()
  json.use(express.json())
  json.use('/flows', toExpressHandler(handler))
  bases.json = await listen(json)
  const raw = express()
  raw.use(express.raw({ type: '*/*' }))
  raw.use('/flows', toExpressHandler(handler))
  bases.raw = await listen(raw)
  const plain = express()
  plain.use('/flows', toExpressHandler(handler))
  bases.plain = await listen(plain)
})
afterAll(async () => {
  for (const s of servers) s.closeAllConnections()
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))))
  await store.close()
})

const post = (url: string, body: string, headers: Record<string, string> = {}) =>
  fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers }, signal: AbortSignal.timeout(5000) })

it.each(['json', 'raw', 'plain'] as const)('POST bodies reach the handler behind %s (no hang, input kept)', async (kind) => {
  const res = await post(`${bases[kind]}/f/runs`, JSON.stringify({ order: kind }))
  expect(res.status).toBe(201)
  const { runId } = (await res.json()) as { runId: string }
  const [started] = await store.read(runId)
  expect(started?.data).toMatchObject({ name: 'f', input: { order: kind } })
  const pub = await post(`${bases[kind]}/events`, JSON.stringify({ kind: 'paid', data: { n: 1 } }))
  expect(pub.status).toBe(202)
  await expect(post(`${bases[kind]}/events`, '{bad')).resolves.toMatchObject({ status: 400 })
})

it('a signed trigger verifies on the raw body (express.raw or no parser); unknown id → 404 after the signature', async () => {
  const body = JSON.stringify({ ok: true })
  for (const kind of ['raw', 'plain'] as const) {
    const res = await post(`${bases[kind]}/triggers/unknownTrigger`, body, { 'leanflow-signature': await signTrigger('k', body) })
    expect(res.status).toBe(404)
    expect(await res.json()).toMatchObject({ error: { code: 'TRIGGER_NOT_FOUND' } })
  }
  const unsigned = await post(`${bases.json}/triggers/unknownTrigger`, body)
  expect(unsigned.status).toBe(401)
})
