// POST /schedules/:id/trigger when the in-code schedule's `input` function throws: a typed
// 400 INVALID_ARGUMENT naming the schedule and the thrown message (never 500), nothing written
// (no run, no lastRun, no onError noise for a caller's 4xx); runner.schedules.trigger rejects
// with the same typed error. On the memory store and a real redis-server, through a real
// node:http server and fetch.
import { createMemoryStreamStore, isLeanflowError } from '@leanflow/core'
import { createHandler } from '@leanflow/http'
import { createRunner, defineFlow } from '@leanflow/runner'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { describeOnStores } from '../fixtures/runnerOnStores.js'
import { errorOf, type RunningServer, startServer } from '../helpers/httpMatrix.js'
import { waitFor } from '../helpers/waitFor.js'

let calls = 0
const report = defineFlow({
  name: 'report',
  schedules: [
    {
      id: 'broken',
      cron: '0 3 * * *',
      input: () => {
        calls++
        throw new Error('tenant list unavailable')
      },
    },
    { id: 'fine', cron: '0 4 * * *', input: (t: { id: string }) => ({ from: t.id }) },
  ],
  steps: { build: { handler: async (input) => ({ built: input }) } },
})

describeOnStores({ flows: [report], prefix: 'schin' }, (runner, store) => {
  let server: RunningServer
  const handlerErrors: unknown[] = []
  beforeAll(async () => {
    server = await startServer('node', createHandler({ store: store(), runner: runner(), onError: (e) => handlerErrors.push(e) }))
  })
  afterAll(() => server.stop())

  it('answers 400 INVALID_ARGUMENT naming the schedule and the error; nothing is started', async () => {
    const before = calls
    const res = await fetch(`${server.origin}/flows/schedules/broken/trigger`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
    })
    expect(res.status).toBe(400)
    const err = await errorOf(res)
    expect(err.code).toBe('INVALID_ARGUMENT')
    expect(err.message).toContain('Schedule "broken"')
    expect(err.message).toContain('tenant list unavailable')
    expect(calls).toBe(before + 1)
    expect(handlerErrors).toEqual([])
    // nothing written: no run of the flow, the schedule's last run untouched
    expect(await store().listRuns('report')).toEqual([])
    const info = (await runner().schedules.list()).find((s) => s.id === 'broken')
    expect(info?.lastRun).toBeUndefined()
  })

  it('runner.schedules.trigger rejects with the same typed error, the thrown one as its cause', async () => {
    const err = await runner()
      .schedules.trigger('broken')
      .catch((e: unknown) => e)
    expect(isLeanflowError(err, 'INVALID_ARGUMENT')).toBe(true)
    expect((err as Error).message).toMatch(/Schedule "broken".*input function threw.*tenant list unavailable/)
    expect(((err as Error).cause as Error).message).toBe('tenant list unavailable')
    expect(await store().listRuns('report')).toEqual([])
  })

  it('a schedule whose input function works still triggers (201, a run)', async () => {
    const res = await fetch(`${server.origin}/flows/schedules/fine/trigger`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
    })
    expect(res.status).toBe(201)
    const { runId } = (await res.json()) as { runId: string }
    expect(await runner().result(runId, { timeout: 10_000 })).toEqual({ build: { built: { from: 'fine' } } })
  })
})

describe('a cadence tick whose input function throws', () => {
  it('is skipped and reported to onError with the typed error as cause; the schedule goes on', async () => {
    const store = createMemoryStreamStore()
    const errors: unknown[] = []
    const ticking = defineFlow({
      name: 'ticking',
      schedules: [
        {
          id: 'every-second',
          every: '1s',
          input: () => {
            throw new Error('tenant list unavailable')
          },
        },
      ],
      steps: { build: { handler: async () => 1 } },
    })
    const runner = createRunner({ store, flows: [ticking], onError: (e) => errors.push(e) })
    await runner.start()
    try {
      await waitFor(() => errors.length > 0, 'the skipped tick reported', 5000)
      const err = errors[0] as Error
      expect(err.message).toMatch(/Schedule "every-second": the tick of .* started no run: .*tenant list unavailable/)
      expect(isLeanflowError(err.cause, 'INVALID_ARGUMENT')).toBe(true)
      // typed itself, as its cause is (it was a bare Error: code undefined)
      expect(isLeanflowError(err, 'INVALID_ARGUMENT')).toBe(true)
      const info = (await runner.schedules.list()).find((x) => x.id === 'every-second')
      expect(info?.lastRun).toMatchObject({ skipped: true })
      expect(Date.parse(info?.nextRunAt as string)).toBeGreaterThan(Date.parse(info?.lastRun?.tick as string))
      expect(await store.listRuns('ticking')).toEqual([])
    } finally {
      await runner.stop()
      await store.close()
    }
  })
})
