// What each route answers, once createHandler matched it (matchRoute.ts) and let it through.
// The SSE route is answerStream.ts.
import { assertName, LeanflowError, readLog, reduceFlow, STORE_DEFAULTS, type StreamStore } from '@leanflow/core'
import type { HandlerRunner, RouteParams } from '../types.js'
import { answerStream } from './answerStream.js'
import { lastEvent, runNotFound } from './lastEvent.js'
import type { Route } from './matchRoute.js'
import { directionParam, emptyRange, eventIdParam, idempotencyKeyHeader, intParam, statusParam } from './query.js'
import { parseJsonBody, readBody } from './readBody.js'
import { invalidArgument, json } from './respond.js'
import { childrenPage } from './runChildren.js'
import { runsPage } from './runsPage.js'
import type { SseSettings } from './sseSession.js'
import { startOptions, traceparentHeader } from './startOptions.js'
import { verifySignature } from './verifySignature.js'

/** Everything a route needs. */
export interface RouteContext {
  req: Request
  url: URL
  params: RouteParams
  store: StreamStore
  runner: HandlerRunner | undefined
  maxBodyBytes: number
  secrets: readonly string[]
  sse: SseSettings
}

const PAGE = STORE_DEFAULTS.readLimit

function flowNotFound(flow: string, runner: HandlerRunner): LeanflowError {
  const known = [...new Set(runner.flows.map((f) => f.name))].join(', ') || 'none'
  return new LeanflowError('FLOW_NOT_FOUND', `Flow "${flow}" is not defined in the runner (known flows: ${known}).`)
}

/** A runner with `limits` (the limits route is refused earlier without it). */
type WithLimits = HandlerRunner & { limits: NonNullable<HandlerRunner['limits']> }

/** `runner.schedules` (routes that need it are refused earlier without it). */
function schedulesOf(runner: HandlerRunner): NonNullable<HandlerRunner['schedules']> {
  return runner.schedules as NonNullable<HandlerRunner['schedules']>
}

function knowsFlow(runner: HandlerRunner, flow: string): boolean {
  return runner.flows.some((f) => f.name === flow)
}

/**
 * Whether a flow's runs may be read: the runner holds it, or the store has runs of it (a flow
 * retired, renamed, or run by another service: `GET /` lists it, so its runs are reachable).
 */
async function readable(c: RouteContext, runner: HandlerRunner, flow: string): Promise<boolean> {
  return knowsFlow(runner, flow) || (await c.store.listRuns(flow, { limit: 1 })).length > 0
}

/** The store's flows, then each flow the runner registers that has no runs yet (`runs: 0`). */
function withRegistered(flows: Array<{ flow: string; runs: number }>, runner: HandlerRunner | undefined) {
  if (!runner) return flows
  const listed = new Set(flows.map((f) => f.flow))
  const all = [...flows]
  for (const { name } of runner.flows) {
    if (listed.has(name)) continue // one row per name (a flow's versions share it)
    listed.add(name)
    all.push({ flow: name, runs: 0 })
  }
  return all
}

function object(body: unknown, what: string): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw invalidArgument(`The body of ${what} must be a JSON object.`)
  }
  return body as Record<string, unknown>
}

/** Answers one matched route (its action allowed, its JSON `Content-Type` checked). */
export async function answerRoute(route: Route, c: RouteContext): Promise<Response> {
  const { store, url, params } = c
  const runner = c.runner as HandlerRunner // routes that need it are refused earlier without one
  switch (route.name) {
    case 'flows':
      return json({ flows: withRegistered(await store.listFlows(), c.runner) })
    case 'runs.list': {
      const flow = params.flow as string
      const limit = intParam(url, 'limit', 1, PAGE)
      const status = statusParam(url)
      if (c.runner && !(await readable(c, c.runner, flow))) throw flowNotFound(flow, c.runner)
      return json(await runsPage(store, flow, url, limit, status))
    }
    case 'counts': {
      const flow = params.flow as string
      if (c.runner && !(await readable(c, c.runner, flow))) throw flowNotFound(flow, c.runner)
      if (store.countRuns === undefined)
        throw new LeanflowError(
          'NOT_FOUND',
          `This store cannot count runs (it has no countRuns): GET /${flow}/counts needs the memory or Redis store.`,
        )
      const { runs, statuses } = await store.countRuns(flow)
      return json({ flow, runs, statuses })
    }
    case 'runs.start': {
      const flow = params.flow as string
      const opts = startOptions(c.req)
      const input = parseJsonBody(await readBody(c.req, c.maxBodyBytes))
      if (!knowsFlow(runner, flow)) throw flowNotFound(flow, runner)
      // RATE_LIMITED (a rateLimit in drop mode) is a 429 with Retry-After (respond.ts)
      const { runId, deduplicated } = await runner.startFlow(flow, input, opts)
      return json(deduplicated === true ? { runId, deduplicated } : { runId }, 201)
    }
    case 'limits': {
      const flow = params.flow as string
      if (!knowsFlow(runner, flow)) throw flowNotFound(flow, runner)
      const { limits } = await (runner as WithLimits).limits(flow) // refused earlier without runner.limits
      return json({ limits })
    }
    case 'run': {
      const runId = params.runId as string
      const events = await readLog(store, runId)
      if (events.length === 0) throw runNotFound(runId)
      const state = reduceFlow(events)
      return json({ state, lastEventId: events[events.length - 1]?.id })
    }
    case 'children': {
      const runId = params.runId as string
      const limit = intParam(url, 'limit', 1, PAGE) ?? STORE_DEFAULTS.listLimit
      const events = await readLog(store, runId)
      if (events.length === 0) throw runNotFound(runId)
      return json(await childrenPage(store, runId, events, url, limit))
    }
    case 'events': {
      const runId = params.runId as string
      const opts = {
        after: eventIdParam(url, 'after'),
        before: eventIdParam(url, 'before'),
        limit: intParam(url, 'limit', 1, PAGE),
        direction: directionParam(url),
      }
      const events = emptyRange(opts.after, opts.before) ? [] : await store.read(runId, opts)
      if (events.length === 0 && (await lastEvent(store, runId)) === undefined) throw runNotFound(runId)
      return json({ events })
    }
    case 'stream':
      return answerStream(c, params.runId as string)
    case 'cancel': {
      const runId = params.runId as string
      // a cancel is idempotent by itself: a key changes nothing, but a malformed one is refused as on every route
      idempotencyKeyHeader(c.req)
      const body = parseJsonBody(await readBody(c.req, c.maxBodyBytes))
      let reason: string | undefined
      if (body !== undefined) {
        const o = object(body, 'POST /runs/:runId/cancel')
        // a misspelt reason would be lost without a word
        onlyFields(o, ['reason'], 'POST /runs/:runId/cancel')
        const r = o.reason
        if (r !== undefined && typeof r !== 'string') throw invalidArgument(`"reason" must be a string, got ${typeName(r)}.`)
        reason = r
      }
      if ((await lastEvent(store, runId)) === undefined) throw runNotFound(runId)
      await runner.cancel(runId, reason)
      return json({ runId }, 202)
    }
    case 'rerun': {
      const runId = params.runId as string
      const raw = parseJsonBody(await readBody(c.req, c.maxBodyBytes), 1) // the input sits in { input }
      const body = raw === undefined ? {} : object(raw, 'POST /runs/:runId/rerun')
      // a misspelt `from` would rerun every step (as runner.rerun refuses it)
      onlyFields(body, ['from', 'input'], 'POST /runs/:runId/rerun', ' (an idempotency key goes in the Idempotency-Key header)')
      const from = body.from
      if (from !== undefined && typeof from !== 'string')
        throw invalidArgument(`"from" must be a step name (a string), got ${typeName(from)}.`)
      const opts: { from?: string; input?: unknown; idempotencyKey?: string; traceparent?: string } = {}
      const key = idempotencyKeyHeader(c.req)
      if (key !== undefined) opts.idempotencyKey = key
      const traceparent = traceparentHeader(c.req)
      if (traceparent !== undefined) opts.traceparent = traceparent
      if (from !== undefined) opts.from = from
      if (Object.hasOwn(body, 'input')) opts.input = body.input
      const rerun = runner.rerun as NonNullable<HandlerRunner['rerun']> // refused earlier without runner.rerun
      const { runId: id, deduplicated } = await rerun(runId, opts)
      return json(deduplicated === true ? { runId: id, deduplicated } : { runId: id }, 201)
    }
    case 'trigger': {
      const raw = await readBody(c.req, c.maxBodyBytes)
      if (c.secrets.length > 0) await verifySignature(c.secrets, c.req.headers.get('leanflow-signature'), raw)
      // a trigger resolves once (a repeat is 409): a key changes nothing, a malformed one is refused
      // (after the signature: an unsigned call is told 401 first)
      idempotencyKeyHeader(c.req)
      const payload = parseJsonBody(raw)
      const { runId, step } = await runner.resolveTrigger(params.triggerId as string, payload ?? null)
      return json({ runId, step })
    }
    case 'schedules.list':
      return json({ schedules: await schedulesOf(runner).list() })
    case 'schedules.pause':
    case 'schedules.resume':
    case 'schedules.trigger': {
      const id = params.scheduleId as string
      const what = `POST /schedules/:id/${route.name.slice('schedules.'.length)}`
      // no fields: an empty body or {} (a field sent, say an `input`, would be ignored without a word)
      const body = parseJsonBody(await readBody(c.req, c.maxBodyBytes))
      if (body !== undefined) noFields(object(body, what), what)
      // each call starts a run: a key would promise a repeat that starts none
      if (route.name === 'schedules.trigger' && c.req.headers.get('idempotency-key') !== null)
        throw invalidArgument(
          `${what} takes no Idempotency-Key header: each call starts a run of the schedule. Leave the header out, or start the run with POST /:flow/runs and the key.`,
        )
      const schedules = schedulesOf(runner)
      if (route.name === 'schedules.trigger') {
        const { runId } = await schedules.trigger(id)
        return json({ runId }, 201)
      }
      const schedule = route.name === 'schedules.pause' ? await schedules.pause(id) : await schedules.resume(id)
      return json({ schedule })
    }
    case 'publish': {
      const idempotencyKey = idempotencyKeyHeader(c.req)
      const body = object(parseJsonBody(await readBody(c.req, c.maxBodyBytes), 1), 'POST /events') // the data sits in { kind, data }
      // a misspelt data would publish null to every run awaiting the kind
      onlyFields(body, ['kind', 'data'], 'POST /events', ' (an idempotency key goes in the Idempotency-Key header)')
      if (body.kind === undefined || body.kind === null) {
        throw invalidArgument('The body of POST /events needs a "kind" (the event kind): send {"kind":"payment.confirmed","data":…}.')
      }
      const kind = assertName(body.kind, 'event kind')
      const data = Object.hasOwn(body, 'data') ? body.data : null
      const { id } = await runner.publishEvent({ kind, data }, idempotencyKey === undefined ? undefined : { idempotencyKey })
      return json({ id }, 202)
    }
  }
}

/** Refuses any body field (400 naming it): a route that takes none would ignore it without a word. */
function noFields(body: Record<string, unknown>, route: string): void {
  const field = Object.keys(body)[0]
  if (field !== undefined)
    throw invalidArgument(
      `${route} takes no fields, got "${field.slice(0, 64)}": send an empty body or {} (a schedule's input is its own: set it with runner.schedules.set).`,
    )
}

/** How a refused value's type reads in an error message. */
function typeName(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : `a ${typeof v}`
}

/** Refuses a body field other than `known` (400 naming it): a misspelt one would be ignored without a word. */
function onlyFields(body: Record<string, unknown>, known: readonly string[], route: string, hint = ''): void {
  const unknown = Object.keys(body).find((k) => !known.includes(k))
  if (unknown !== undefined)
    throw invalidArgument(`${route} has an unknown field "${unknown.slice(0, 64)}": send only ${known.join(' and ')}${hint}.`)
}
