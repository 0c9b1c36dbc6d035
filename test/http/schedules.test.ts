// The schedule routes of @leanflow/http (GET /schedules, POST /schedules/:id/pause|resume|trigger)
// with the real runner's `runner.schedules`, on the memory store and on a real redis-server,
// through the handler in-process and real servers: list, pause/resume (nextRunAt null while
// paused), trigger (201, a run that exists), 404 SCHEDULE_NOT_FOUND, 400 INVALID_NAME, 405, 415,
// authorize's actions (schedules.read, schedules.write) and its refusals (403, nothing changed),
// and 404 without a runner or with a runner without schedules.
import { createMemoryStreamStore, type StreamStore } from '@leanflow/core'
import { createHandler, type HandlerAction, type HandlerRunner, type RouteParams } from '@leanflow/http'
import { defineFlow, type Runner } from '@leanflow/runner'
import { beforeEach, describe, expect, it } from 'vitest'
import { describeOnStores } from '../fixtures/runnerOnStores.js'
import { describeMatrix, errorOf, type MatrixTarget, TRANSPORTS } from '../helpers/httpMatrix.js'

// Ticks far apart (a daily cron, a daily `every`): none falls due while the tests run.
const report = defineFlow({
  name: 'report',
  schedules: [{ id: 'nightly', cron: '0 3 * * *', tz: 'Europe/Berlin', input: { full: true } }],
  steps: { build: { handler: async (input) => ({ built: input }) } },
})
const sync = defineFlow({ name: 'sync', steps: { pull: { handler: async (input) => input } } })

interface Info {
  id: string
  flow: string
  cron?: string
  every?: string
  tz: string
  source: 'code' | 'stored'
  paused: boolean
  nextRunAt: string | null
}

const post = (body?: string, headers: Record<string, string> = { 'content-type': 'application/json' }): RequestInit => ({
  method: 'POST',
  ...(body === undefined ? {} : { body }),
  headers,
})

async function list(t: MatrixTarget): Promise<Info[]> {
  const res = await t.fetch('/flows/schedules')
  expect(res.status).toBe(200)
  return ((await res.json()) as { schedules: Info[] }).schedules
}

function scheduleRoutes(getRunner: () => Runner, getStore: () => StreamStore): void {
  describeMatrix(
    'schedule routes',
    () => createHandler({ store: getStore(), runner: getRunner() }),
    (t) => {
      it('GET /schedules lists the in-code and the stored schedules', async () => {
        const all = await list(t())
        expect(all.map((s) => s.id).sort()).toEqual(['nightly', 'sync-acme'])
        const nightly = all.find((s) => s.id === 'nightly') as Info
        expect(nightly).toMatchObject({ flow: 'report', cron: '0 3 * * *', tz: 'Europe/Berlin', source: 'code', paused: false })
        expect(Date.parse(nightly.nextRunAt as string)).toBeGreaterThan(Date.now())
        expect(all.find((s) => s.id === 'sync-acme')).toMatchObject({ flow: 'sync', source: 'stored', paused: false })
        // the trailing slash is ignored, like on every route
        expect((await t().fetch('/flows/schedules/')).status).toBe(200)
      })

      it('pauses (nextRunAt null) and resumes (the next tick after now)', async () => {
        const paused = await t().fetch('/flows/schedules/sync-acme/pause', post())
        expect(paused.status).toBe(200)
        expect(paused.headers.get('content-type')).toMatch(/^application\/json/)
        expect(((await paused.json()) as { schedule: Info }).schedule).toMatchObject({ id: 'sync-acme', paused: true, nextRunAt: null })
        expect((await list(t())).find((s) => s.id === 'sync-acme')).toMatchObject({ paused: true, nextRunAt: null })
        // pausing twice is fine; an empty JSON object is an empty body
        expect((await t().fetch('/flows/schedules/sync-acme/pause', post('{}'))).status).toBe(200)

        const before = Date.now()
        const resumed = await t().fetch('/flows/schedules/sync-acme/resume', post())
        expect(resumed.status).toBe(200)
        const schedule = ((await resumed.json()) as { schedule: Info }).schedule
        expect(schedule).toMatchObject({ id: 'sync-acme', paused: false })
        expect(Date.parse(schedule.nextRunAt as string)).toBeGreaterThanOrEqual(before)
        expect((await list(t())).find((s) => s.id === 'sync-acme')?.paused).toBe(false)
        // the other schedule was not touched
        expect((await list(t())).find((s) => s.id === 'nightly')?.paused).toBe(false)
      })

      it('POST /schedules/:id/trigger is 201 { runId } of a run of the flow that exists, also while paused', async () => {
        const res = await t().fetch('/flows/schedules/nightly/trigger', post())
        expect(res.status).toBe(201)
        const { runId } = (await res.json()) as { runId: string }
        expect(runId).toMatch(/^[A-Za-z0-9]{21}$/)
        const run = await t().fetch(`/flows/runs/${runId}`)
        expect(run.status).toBe(200)
        expect(((await run.json()) as { state: { name: string } }).state.name).toBe('report')
        const runs = await t().fetch('/flows/report/runs')
        expect(((await runs.json()) as { runs: { runId: string }[] }).runs.map((r) => r.runId)).toContain(runId)

        expect((await t().fetch('/flows/schedules/sync-acme/pause', post())).status).toBe(200)
        const whilePaused = await t().fetch('/flows/schedules/sync-acme/trigger', post())
        expect(whilePaused.status).toBe(201)
        const second = ((await whilePaused.json()) as { runId: string }).runId
        expect(second).not.toBe(runId)
        expect((await t().fetch(`/flows/runs/${second}`)).status).toBe(200)
        expect((await list(t())).find((s) => s.id === 'sync-acme')?.paused).toBe(true)
        expect((await t().fetch('/flows/schedules/sync-acme/resume', post())).status).toBe(200)
      })

      it('an unknown id is 404 SCHEDULE_NOT_FOUND on every POST', async () => {
        for (const verb of ['pause', 'resume', 'trigger']) {
          const res = await t().fetch(`/flows/schedules/no-such-schedule/${verb}`, post())
          expect(res.status).toBe(404)
          expect((await errorOf(res)).code).toBe('SCHEDULE_NOT_FOUND')
        }
      })

      it('an id against the name rule is 400 INVALID_NAME', async () => {
        for (const id of ['a%3Ab', '-lead', 'sp%20ace', 'x'.repeat(129)]) {
          const res = await t().fetch(`/flows/schedules/${id}/pause`, post())
          expect(res.status).toBe(400)
          expect((await errorOf(res)).code).toBe('INVALID_NAME')
        }
      })

      it('a known path with another method is 405 with Allow; other paths 404', async () => {
        const get = await t().fetch('/flows/schedules/nightly/pause')
        expect(get.status).toBe(405)
        expect(get.headers.get('allow')).toBe('POST')
        expect((await errorOf(get)).code).toBe('METHOD_NOT_ALLOWED')
        const postList = await t().fetch('/flows/schedules', post())
        expect(postList.status).toBe(405)
        expect(postList.headers.get('allow')).toBe('GET')
        expect((await t().fetch('/flows/schedules/nightly/trigger', { method: 'DELETE' })).status).toBe(405)
        // `schedules` is a reserved flow name: its "run list" is no route
        for (const path of ['/flows/schedules/runs', '/flows/schedules/nightly', '/flows/schedules/nightly/stop']) {
          const res = await t().fetch(path)
          expect(res.status).toBe(404)
          expect((await errorOf(res)).code).toBe('NOT_FOUND')
        }
      })

      it('a POST needs a JSON content type (415) and, with a body, a JSON object (400); nothing changes', async () => {
        const form = await t().fetch('/flows/schedules/nightly/pause', post('a=1', { 'content-type': 'application/x-www-form-urlencoded' }))
        expect(form.status).toBe(415)
        const none = await t().fetch('/flows/schedules/nightly/trigger', { method: 'POST' })
        expect(none.status).toBe(415)
        const array = await t().fetch('/flows/schedules/nightly/pause', post('[1]'))
        expect(array.status).toBe(400)
        expect((await errorOf(array)).code).toBe('INVALID_ARGUMENT')
        const malformed = await t().fetch('/flows/schedules/nightly/pause', post('{'))
        expect(malformed.status).toBe(400)
        expect((await list(t())).find((s) => s.id === 'nightly')?.paused).toBe(false)
      })

      it('a field in the body (an input, say) is 400 naming it, and an Idempotency-Key on trigger is 400: neither would be honoured; nothing changes', async () => {
        const runsOf = async () => ((await (await t().fetch('/flows/report/runs')).json()) as { runs: unknown[] }).runs.length
        const before = await runsOf()
        const input = await t().fetch('/flows/schedules/nightly/trigger', post('{"input":5}'))
        expect(input.status).toBe(400)
        const err = await errorOf(input)
        expect(err.code).toBe('INVALID_ARGUMENT')
        expect(err.message).toContain('takes no fields, got "input"')
        const pause = await t().fetch('/flows/schedules/nightly/pause', post('{"x":1}'))
        expect(pause.status).toBe(400)
        expect((await errorOf(pause)).message).toContain('"x"')
        const keyed = await t().fetch(
          '/flows/schedules/nightly/trigger',
          post('{}', { 'content-type': 'application/json', 'idempotency-key': 'k1' }),
        )
        expect(keyed.status).toBe(400)
        expect((await errorOf(keyed)).message).toContain('takes no Idempotency-Key header')
        expect(await runsOf()).toBe(before)
        expect((await list(t())).find((s) => s.id === 'nightly')?.paused).toBe(false)
      })
    },
  )

  describe('authorize', () => {
    const calls: Array<{ action: HandlerAction; params: RouteParams }> = []
    let allow = true
    beforeEach(() => {
      calls.length = 0
      allow = true
    })
    describeMatrix(
      'schedule actions',
      () =>
        createHandler({
          store: getStore(),
          runner: getRunner(),
          authorize: (_req, action, params) => {
            calls.push({ action, params })
            return allow
          },
        }),
      (t) => {
        it('is asked with schedules.read and schedules.write and the scheduleId', async () => {
          expect((await t().fetch('/flows/schedules')).status).toBe(200)
          expect((await t().fetch('/flows/schedules/sync-acme/pause', post())).status).toBe(200)
          expect((await t().fetch('/flows/schedules/sync-acme/resume', post())).status).toBe(200)
          expect((await t().fetch('/flows/schedules/sync-acme/trigger', post())).status).toBe(201)
          expect(calls).toEqual([
            { action: 'schedules.read', params: {} },
            { action: 'schedules.write', params: { scheduleId: 'sync-acme' } },
            { action: 'schedules.write', params: { scheduleId: 'sync-acme' } },
            { action: 'schedules.write', params: { scheduleId: 'sync-acme' } },
          ])
        })

        it('refusing each action is 403 FORBIDDEN, and nothing is paused, resumed or started', async () => {
          allow = false
          const runsBefore = (await getStore().listRuns('sync')).length
          for (const [path, init] of [
            ['/flows/schedules', undefined],
            ['/flows/schedules/sync-acme/pause', post()],
            ['/flows/schedules/nightly/resume', post()],
            ['/flows/schedules/sync-acme/trigger', post()],
          ] as const) {
            const res = await t().fetch(path, init)
            expect(res.status).toBe(403)
            expect((await errorOf(res)).code).toBe('FORBIDDEN')
          }
          expect(calls.map((c) => c.action)).toEqual(['schedules.read', 'schedules.write', 'schedules.write', 'schedules.write'])
          // an unknown id is refused before the runner is asked: the caller learns nothing of it
          const unknown = await t().fetch('/flows/schedules/no-such-schedule/pause', post())
          expect(unknown.status).toBe(403)
          allow = true
          expect((await list(t())).find((s) => s.id === 'sync-acme')?.paused).toBe(false)
          expect((await getStore().listRuns('sync')).length).toBe(runsBefore)
        })

        it('a Response from authorize is sent as is', async () => {
          const handler = createHandler({
            store: getStore(),
            runner: getRunner(),
            authorize: () => Response.json({ error: { code: 'UNAUTHORIZED', message: 'Send a token.' } }, { status: 401 }),
          })
          const res = await handler(new Request('http://x/flows/schedules/nightly/pause', post()))
          expect(res.status).toBe(401)
          expect((await list(t())).find((s) => s.id === 'nightly')?.paused).toBe(false)
        })
      },
      ['handler', 'node'],
    )
  })
}

describeOnStores(
  {
    flows: [report, sync],
    prefix: 'httpschedules',
    setup: async (runner) => {
      await runner.schedules.set({ id: 'sync-acme', flow: 'sync', every: '1d', input: { tenant: 'acme' } })
    },
  },
  scheduleRoutes,
)

describe('without runner.schedules', () => {
  const store = createMemoryStreamStore()
  // a runner typed structurally, as @leanflow/http sees one, that has no schedules
  const bare: HandlerRunner = {
    flows: [{ name: 'sync' }],
    startFlow: async () => ({ runId: 'r1' }),
    cancel: async () => {},
    resolveTrigger: async () => ({ runId: 'r1', step: 's' }),
    publishEvent: async () => ({ id: '1-0' }),
  }
  for (const [title, runner] of [
    ['no runner', undefined],
    ['a runner without schedules', bare],
  ] as const) {
    describeMatrix(
      title,
      () => createHandler({ store, runner, authorize: () => false }),
      (t) => {
        it('every schedule route is 404 NOT_FOUND (before authorize, which refuses all, and the body checks)', async () => {
          for (const [path, init] of [
            ['/flows/schedules', undefined],
            ['/flows/schedules/nightly/pause', post()],
            ['/flows/schedules/nightly/resume', post('x', { 'content-type': 'text/plain' })],
            ['/flows/schedules/nightly/trigger', post()],
          ] as const) {
            const res = await t().fetch(path, init)
            expect(res.status).toBe(404)
            expect((await errorOf(res)).code).toBe('NOT_FOUND')
          }
          // the names are still checked first
          expect((await t().fetch('/flows/schedules/a%3Ab/pause', post())).status).toBe(400)
        })
      },
      TRANSPORTS.filter((x) => x === 'handler' || x === 'node'),
    )
  }
})
