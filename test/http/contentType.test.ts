// Every JSON body route needs `Content-Type: application/json` (or a `+json` type; parameters
// such as a UTF-8 charset allowed): anything else is 415 UNSUPPORTED_MEDIA_TYPE and nothing is
// acted (F26: a cross-site `text/plain` or form post, which a browser sends without a preflight,
// must not start runs, publish events, resolve triggers or cancel runs). Checked after
// `authorize`, before the body size and the trigger signature. Real runner on the memory store,
// through the handler in-process and real servers.
import { createMemoryStreamStore, type EventRecord, reduceFlow } from '@leanflow/core'
import { createHandler, signTrigger } from '@leanflow/http'
import { defineFlow } from '@leanflow/runner'
import { expect, it } from 'vitest'
import { useStartedRunner } from '../fixtures/runnerOnStores.js'
import { describeMatrix, errorOf, type MatrixTarget, rawHttp } from '../helpers/httpMatrix.js'
import { waitFor } from '../helpers/waitFor.js'

const SECRET = 'whsec_content_type'
const LIMIT = 4096

const approval = defineFlow({
  name: 'approval',
  steps: {
    approve: {
      handler: async (_input, ctx) => {
        const t = await ctx.await.trigger({ type: 'webhook', timeout: '1h' })
        return await t.wait()
      },
    },
  },
})
const waiter = defineFlow({
  name: 'waiter',
  steps: {
    wait: {
      handler: async (input, ctx) =>
        (await ctx.await.event({ kind: 'payment.confirmed', match: { 'data.orderId': (input as { orderId: string }).orderId } })).data,
    },
  },
})
const echo = defineFlow({ name: 'echo', steps: { noop: { handler: async (input) => input ?? null } } })

const { runner, store } = useStartedRunner(() => createMemoryStreamStore(), [approval, waiter, echo])

const REFUSED: ReadonlyArray<string | undefined> = [
  undefined,
  'text/plain',
  'text/plain;charset=UTF-8',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=----x',
  'text/json',
  'application/jsonp',
  'application/json-patch',
  'application/json; charset=iso-8859-1',
  'application/json, text/plain',
  '',
]
const ACCEPTED = [
  'application/json',
  'application/json;charset=utf-8',
  'APPLICATION/JSON; Charset="UTF-8"',
  'application/vnd.api+json',
  'application/merge-patch+json; charset=utf-8',
]

/** A POST whose body is bytes, so fetch adds no Content-Type of its own. */
const raw = (body: string, contentType: string | undefined, headers: Record<string, string> = {}): RequestInit => ({
  method: 'POST',
  body: new TextEncoder().encode(body),
  headers: contentType === undefined ? headers : { 'content-type': contentType, ...headers },
})

async function events(runId: string): Promise<EventRecord[]> {
  return store().read(runId)
}
async function awaitTrigger(runId: string): Promise<string> {
  let id: string | undefined
  await waitFor(async () => {
    const e = (await events(runId)).find((x) => x.kind === 'step.await.trigger')
    id = (e?.data as { triggerId?: string } | undefined)?.triggerId
    return id !== undefined
  }, 'step.await.trigger')
  return id as string
}
async function statusOf(runId: string): Promise<string> {
  return reduceFlow(await events(runId)).status
}
const signed = async (body: string) => ({ 'leanflow-signature': await signTrigger(SECRET, body) })

async function expect415(t: MatrixTarget, path: string, init: RequestInit, what: string): Promise<void> {
  const res = await t.fetch(path, init)
  expect(res.status, what).toBe(415)
  const error = await errorOf(res)
  expect(error.code, what).toBe('UNSUPPORTED_MEDIA_TYPE')
  expect(error.message, what).toMatch(/application\/json/)
}

/** The status code of the answer to a raw HTTP/1.1 request (written as is: two headers of a name stay two). */
const httpStatus = async (origin: string, request: string) =>
  Number(/^HTTP\/1\.1 (\d{3})/.exec(await rawHttp(Number(new URL(origin).port), request))?.[1] ?? 0)

describeMatrix(
  'JSON content type',
  () =>
    createHandler({
      store: store(),
      runner: runner(),
      triggerSecret: SECRET,
      maxBodyBytes: LIMIT,
      authorize: (req) => req.headers.get('x-deny') === null,
    }),
  (t) => {
    it('POST /:flow/runs: any other type is 415 and starts nothing; JSON types (charset allowed) start runs', async () => {
      const before = (await store().listRuns('echo', { limit: 1000 })).length
      for (const type of REFUSED) await expect415(t(), '/flows/echo/runs', raw('{"tag":"x"}', type), `type ${type}`)
      expect((await store().listRuns('echo', { limit: 1000 })).length).toBe(before)
      for (const type of ACCEPTED) {
        const res = await t().fetch('/flows/echo/runs', raw('{"tag":"ok"}', type))
        expect(res.status, type).toBe(201)
      }
      expect((await store().listRuns('echo', { limit: 1000 })).length).toBe(before + ACCEPTED.length)
    })

    it('a compressed body (Content-Encoding gzip, br) is 415 naming the coding and starts nothing; identity is read', async () => {
      const before = (await store().listRuns('echo', { limit: 1000 })).length
      for (const coding of ['gzip', 'br', 'deflate, identity']) {
        const res = await t().fetch('/flows/echo/runs', raw('"x"', 'application/json', { 'content-encoding': coding }))
        expect(res.status, coding).toBe(415)
        const error = await errorOf(res)
        expect(error.code).toBe('UNSUPPORTED_MEDIA_TYPE')
        expect(error.message).toContain(`Content-Encoding ${JSON.stringify(coding)}`)
      }
      expect((await store().listRuns('echo', { limit: 1000 })).length).toBe(before)
      const plain = await t().fetch('/flows/echo/runs', raw('"x"', 'application/json', { 'content-encoding': 'identity' }))
      expect(plain.status).toBe(201)
    })

    it('two Content-Type headers (JSON first, then text/plain) are read as one, as a Web server does: 415 on every transport, nothing started', async () => {
      if (t().transport === 'handler') return // a Request cannot carry two: the Web's Headers joins them (in REFUSED)
      const before = (await store().listRuns('echo', { limit: 1000 })).length
      const body = '{"tag":"two"}'
      for (const types of [
        ['application/json', 'text/plain'],
        ['text/plain', 'application/json'],
      ]) {
        const head = types.map((ct) => `Content-Type: ${ct}\r\n`).join('')
        const status = await httpStatus(
          t().origin,
          `POST /flows/echo/runs HTTP/1.1\r\nHost: x\r\n${head}Content-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
        )
        expect(status, types.join(' then ')).toBe(415)
      }
      expect((await store().listRuns('echo', { limit: 1000 })).length).toBe(before)
    })

    it('POST /events: 415 publishes nothing (the await gets the first JSON event, not a refused one)', async () => {
      const orderId = `o-${t().transport}`
      const { runId } = await runner().startFlow('waiter', { orderId })
      await waitFor(async () => (await events(runId)).some((e) => e.kind === 'step.await.event'), 'the await to register')
      const bad = JSON.stringify({ kind: 'payment.confirmed', data: { orderId, from: 'refused' } })
      for (const type of REFUSED) await expect415(t(), '/flows/events', raw(bad, type), `type ${type}`)
      const good = JSON.stringify({ kind: 'payment.confirmed', data: { orderId, from: 'json' } })
      expect((await t().fetch('/flows/events', raw(good, 'application/json'))).status).toBe(202)
      await waitFor(async () => (await statusOf(runId)) === 'completed', 'the waiter to complete')
      const done = (await events(runId)).find((e) => e.kind === 'flow.completed')
      expect((done?.data as { result?: unknown } | undefined)?.result).toEqual({ wait: { orderId, from: 'json' } })
    })

    it('POST /triggers/:id: 415 even when correctly signed, and the trigger still resolves with JSON', async () => {
      const { runId } = await runner().startFlow('approval', {})
      const triggerId = await awaitTrigger(runId)
      const bad = '{"approved":false}'
      for (const type of REFUSED) await expect415(t(), `/flows/triggers/${triggerId}`, raw(bad, type, await signed(bad)), `type ${type}`)
      await expect415(t(), `/flows/triggers/${triggerId}`, raw(bad, 'text/plain', { 'leanflow-signature': 'garbage' }), 'bad signature')
      expect((await events(runId)).some((e) => e.kind === 'step.resumed')).toBe(false)
      const good = '{"approved":true}'
      const ok = await t().fetch(`/flows/triggers/${triggerId}`, raw(good, 'application/json', await signed(good)))
      expect(ok.status).toBe(200)
      await waitFor(async () => (await statusOf(runId)) === 'completed', 'the approval to complete')
      const done = (await events(runId)).find((e) => e.kind === 'flow.completed')
      expect((done?.data as { result?: unknown } | undefined)?.result).toEqual({ approve: { approved: true } })
    })

    it('POST /runs/:id/cancel: 415 with or without a body cancels nothing; with JSON it cancels', async () => {
      const { runId } = await runner().startFlow('approval', {})
      await awaitTrigger(runId)
      for (const type of REFUSED) {
        await expect415(t(), `/flows/runs/${runId}/cancel`, raw('{"reason":"csrf"}', type), `type ${type}`)
        await expect415(t(), `/flows/runs/${runId}/cancel`, raw('', type), `empty body, type ${type}`)
      }
      expect((await events(runId)).some((e) => e.kind === 'flow.canceled')).toBe(false)
      expect((await t().fetch(`/flows/runs/${runId}/cancel`, raw('', 'application/json'))).status).toBe(202)
      await waitFor(async () => (await statusOf(runId)) === 'canceled', 'the run to be canceled')
      const canceled = (await events(runId)).filter((e) => e.kind === 'flow.canceled')
      expect(canceled).toHaveLength(1)
    })

    it('order: route, authorize, then content type, then body size and signature', async () => {
      // a refused type on an unknown route or a wrong method: the route decides first
      expect((await t().fetch('/flows/nope/a/b', raw('{}', 'text/plain'))).status).toBe(404)
      // authorize first: a denied caller learns nothing about the body
      const denied = await t().fetch('/flows/echo/runs', raw('{}', 'text/plain', { 'x-deny': '1' }))
      expect(denied.status).toBe(403)
      // before the body size: a refused type is 415 even over maxBodyBytes
      await expect415(t(), '/flows/events', raw(`"${'x'.repeat(LIMIT + 10)}"`, 'text/plain'), 'over the limit')
      const tooBig = await t().fetch('/flows/events', raw(`"${'x'.repeat(LIMIT + 10)}"`, 'application/json'))
      expect(tooBig.status).toBe(413)
      // before the signature: an unsigned text/plain trigger call is 415, not 401
      await expect415(t(), '/flows/triggers/NoSuchTrigger000000001', raw('{}', 'text/plain'), 'unsigned')
      expect((await t().fetch('/flows/triggers/NoSuchTrigger000000001', raw('{}', 'application/json'))).status).toBe(401)
      // GET routes take no body and need no type
      expect((await t().fetch('/flows/echo/runs')).status).toBe(200)
    })
  },
)
