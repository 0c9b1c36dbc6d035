// A flow-control key function that throws on an input (`(input) => input.tenant.id` given `{}` or
// `null`) is bad input, not a server failure: `startFlow` rejects with INVALID_ARGUMENT naming the
// limit, the flow and the key function's error (kept as `cause`), and POST /:flow/runs answers 400
// with it, never 500 (DESIGN "bad input never gives 500"; flow-control "a key … is refused …
// before anything is written"). Nothing is started. Real runner on the memory store and on
// redis-server, a real node:http server reached with fetch.
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { isLeanflowError } from '@leanflow/core'
import { createHandler } from '@leanflow/http'
import { toNodeHandler } from '@leanflow/http/node'
import { defineFlow } from '@leanflow/runner'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { describeOnStores } from '../fixtures/runnerOnStores.js'

interface SyncInput {
  tenant: { id: string }
}
const keyed = defineFlow<SyncInput>({
  name: 'keyed',
  concurrency: { limit: 1, key: (input) => input.tenant.id },
  steps: { s: { handler: async () => 1 } },
})
const rateKeyed = defineFlow<SyncInput>({
  name: 'rateKeyed',
  rateLimit: { limit: 100, period: '1m', key: (input) => input.tenant.id },
  steps: { s: { handler: async () => 1 } },
})
// a step-level limit's key is a function of the run's input too: checked at the start, not
// first when the step runs (the run was written, and the step ran under the step's unkeyed limit)
const stepKeyed = defineFlow<SyncInput>({
  name: 'stepKeyed',
  steps: { s: { concurrency: { limit: 1, key: (input) => input.tenant.id }, handler: async () => 1 } },
})

describeOnStores({ flows: [keyed, rateKeyed, stepKeyed], prefix: 'keyfn' }, (runner, store) => {
  let server: http.Server
  let base = ''
  beforeAll(async () => {
    const handler = createHandler({ store: store(), runner: runner(), onError: () => {} })
    server = http.createServer(toNodeHandler(handler)).listen(0, '127.0.0.1')
    await new Promise((resolve) => server.once('listening', resolve))
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/flows`
  })
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

  it('startFlow rejects with INVALID_ARGUMENT naming the limit and the error, the error as cause; nothing is written', async () => {
    for (const input of [{}, null]) {
      const err = await runner()
        .startFlow('keyed', input as unknown as SyncInput)
        .catch((e: unknown) => e)
      expect(isLeanflowError(err, 'INVALID_ARGUMENT')).toBe(true)
      expect((err as Error).message).toMatch(
        /^The key function of concurrency of flow "keyed" threw on this input \(.+\): .*Nothing was started\.$/,
      )
      expect((err as Error).cause).toBeInstanceOf(TypeError)
    }
    expect(await store().listRuns('keyed')).toEqual([])
  })

  it('POST /:flow/runs answers 400 INVALID_ARGUMENT, not 500; a good input still starts a run', async () => {
    for (const [flow, body] of [
      ['keyed', '{}'],
      ['keyed', 'null'],
      ['rateKeyed', '{"tenant":null}'],
    ] as const) {
      const res = await fetch(`${base}/${flow}/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
      expect(res.status, `${flow} ${body}`).toBe(400)
      const { error } = (await res.json()) as { error: { code: string; message: string } }
      expect(error.code).toBe('INVALID_ARGUMENT')
      expect(error.message).toContain(`of flow "${flow}" threw on this input`)
    }
    expect(await store().listRuns('rateKeyed')).toEqual([])
    const ok = await fetch(`${base}/keyed/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ tenant: { id: 'acme' } }),
    })
    expect(ok.status).toBe(201)
  })
  it("a step-level limit's key function is asked at the start: a throw is 400 INVALID_ARGUMENT, a bad name 400 INVALID_NAME; nothing is written", async () => {
    const err = await runner()
      .startFlow('stepKeyed', {} as SyncInput)
      .catch((e: unknown) => e)
    expect(isLeanflowError(err, 'INVALID_ARGUMENT')).toBe(true)
    expect((err as Error).message).toMatch(
      /^The key function of concurrency of step "s" of flow "stepKeyed" threw on this input \(.+\): .*Nothing was started\.$/,
    )
    expect((err as Error).cause).toBeInstanceOf(TypeError)
    for (const [body, code] of [
      ['{}', 'INVALID_ARGUMENT'],
      ['{"tenant":{"id":"a b"}}', 'INVALID_NAME'],
      ['{"tenant":{"id":5}}', 'INVALID_NAME'],
    ] as const) {
      const res = await fetch(`${base}/stepKeyed/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
      expect(res.status, body).toBe(400)
      expect(((await res.json()) as { error: { code: string } }).error.code, body).toBe(code)
    }
    expect(await store().listRuns('stepKeyed')).toEqual([])
    const { runId } = await runner().startFlow('stepKeyed', { tenant: { id: 'acme' } })
    expect(await runner().result(runId)).toEqual({ s: 1 })
  })
})
