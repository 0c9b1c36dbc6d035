// createHandler, the one real handler (a Web Request in, a Response out): it checks its options
// once, then per request matches the route (internal/matchRoute.ts), asks `authorize`, and
// answers (internal/answerRoute.ts; SSE: internal/answerStream.ts). Errors: internal/respond.ts.
import { assertKnownKeys, invalidArgument, LeanflowError, positiveInteger } from '@leanflow/core'
import { answerRoute } from './internal/answerRoute.js'
import { createCors } from './internal/cors.js'
import { createFrameCache } from './internal/frameCache.js'
import { basePathOption, functionOption, runnerOption, secretsOption } from './internal/handlerOptions.js'
import { assertJsonContentType } from './internal/jsonContentType.js'
import { matchRoute, normalizeBasePath, routeMethods } from './internal/matchRoute.js'
import { requestUrl } from './internal/requestUrl.js'
import { errorJson, errorResponse } from './internal/respond.js'
import type { SseSettings } from './internal/sseSession.js'
import type { Handler, HandlerOptions } from './types.js'

/** A whole-number option above 0 (bytes, ms, counts), or its default. */
function positive(name: string, value: number | undefined, fallback: number): number {
  return positiveInteger(value ?? fallback, `createHandler ${name}`)
}

/** `heartbeatMs` as one timer holds it (2^31 - 1 ms): Node fires a longer timer after 1 ms, a heartbeat per ms. */
function timerMs(ms: number): number {
  const max = 2 ** 31 - 1
  if (ms > max) throw invalidArgument('createHandler heartbeatMs', ms, `a whole number of ms from 1 to ${max}`)
  return ms
}

function isResponse(value: unknown): value is Response {
  return (
    value instanceof Response ||
    (typeof value === 'object' &&
      value !== null &&
      typeof (value as Response).status === 'number' &&
      (value as Response).headers instanceof Headers)
  )
}

/** Every option of {@link createHandler}: another (a misspelt `basepath`) is refused. */
const HANDLER_KEYS = [
  'store',
  'runner',
  'basePath',
  'authorize',
  'cors',
  'triggerSecret',
  'maxBodyBytes',
  'heartbeatMs',
  'maxQueuedFrames',
  'maxQueuedBytes',
  'maxStreams',
  'retryMs',
  'onError',
] satisfies Array<keyof HandlerOptions>

/**
 * Creates the leanflow HTTP handler: a Web `Request` in, a `Response` out, for
 * every route under `basePath` (runs, SSE streams, triggers, external events).
 * Errors are JSON `{ error: { code, message } }`; unknown errors are 500 without details.
 * Each request is checked in this order: route and names, `authorize`, the JSON
 * `Content-Type` of a body route (415), body size (413), trigger signature (401), JSON (400).
 * With `cors`, pages on the origins it allows may call the routes from a browser.
 *
 * @example
 * ```ts
 * import { createHandler } from '@leanflow/http'
 * import { toNodeHandler } from '@leanflow/http/node'
 *
 * const handler = createHandler({
 *   store,
 *   runner,
 *   authorize: (req, action) => action !== 'runs.cancel',
 *   cors: { origin: ['https://app.example.com'] }, // optional: pages on another origin
 * })
 * http.createServer(toNodeHandler(handler)).listen(3000)
 * // GET /flows/runs/<runId>/stream  → SSE of the run's events
 * ```
 */
export function createHandler(options: HandlerOptions): Handler {
  // no options (or null) is refused for want of a store, by the same message
  const { store } = options ?? ({} as Partial<HandlerOptions>)
  if (typeof options === 'object' && options !== null) assertKnownKeys(options, HANDLER_KEYS, 'createHandler')
  if (store === undefined || store === null || typeof store.follow !== 'function') {
    throw new LeanflowError('INVALID_ARGUMENT', 'createHandler needs a store: createHandler({ store: createMemoryStreamStore() }).')
  }
  const runner = runnerOption(options.runner)
  const authorize = functionOption('authorize', options.authorize)
  const basePath = normalizeBasePath(basePathOption(options.basePath ?? '/flows'))
  const maxBodyBytes = positive('maxBodyBytes', options.maxBodyBytes, 1024 * 1024)
  const secrets = secretsOption(options.triggerSecret)
  const onError = functionOption('onError', options.onError) ?? ((err: unknown) => console.error('[leanflow/http]', err))
  const cors = options.cors === undefined ? undefined : createCors(options.cors)
  const sse: Omit<SseSettings, 'onError'> = {
    heartbeatMs: timerMs(positive('heartbeatMs', options.heartbeatMs, 15_000)),
    maxQueuedFrames: positive('maxQueuedFrames', options.maxQueuedFrames, 1000),
    maxQueuedBytes: positive('maxQueuedBytes', options.maxQueuedBytes, 8 * 1024 * 1024),
    maxStreams: positive('maxStreams', options.maxStreams, 10_000),
    retryMs: positive('retryMs', options.retryMs, 1000),
    counter: { open: 0 },
    frames: createFrameCache(),
  }

  const reportTo = (err: unknown, req: Request) => {
    try {
      onError(err, req)
    } catch {
      // a failing logger must not turn into a failing request
    }
  }
  /**
   * What an SSE stream reports a failure with: a Request for the stream's URL and method. The
   * original's headers and signal are not kept alive for the stream's whole life (~2 KB each).
   */
  const streamReport = (href: string, method: string) => (err: unknown) => reportTo(err, new Request(href, { method }))

  async function handle(req: Request): Promise<Response> {
    const report = (err: unknown) => reportTo(err, req)
    try {
      const url = requestUrl(req)
      const route = matchRoute(req.method, url.pathname, basePath)
      if (route.needsRunner && runner === undefined) {
        throw new LeanflowError('NOT_FOUND', `${req.method} ${url.pathname} needs a runner: pass createHandler({ store, runner }).`)
      }
      if (route.needsRunner === 'schedules' && runner?.schedules === undefined) {
        throw new LeanflowError('NOT_FOUND', `${req.method} ${url.pathname} needs a runner with schedules (runner.schedules).`)
      }
      if (route.needsRunner === 'limits' && typeof runner?.limits !== 'function') {
        throw new LeanflowError('NOT_FOUND', `${req.method} ${url.pathname} needs a runner with limits (runner.limits).`)
      }
      if (route.needsRunner === 'rerun' && typeof runner?.rerun !== 'function') {
        throw new LeanflowError('NOT_FOUND', `${req.method} ${url.pathname} needs a runner with rerun (runner.rerun).`)
      }
      if (authorize !== undefined) {
        const verdict = await authorize(req, route.action, { ...route.params })
        if (isResponse(verdict)) return verdict
        if (verdict !== true) return errorJson('FORBIDDEN', `Not allowed: ${route.action}.`, 403)
      }
      // a header check, before a byte of the body is read: a cross-site form or text/plain post never acts
      if (route.jsonBody) assertJsonContentType(req, url.pathname)
      return await answerRoute(route, {
        req,
        url,
        params: route.params,
        store,
        runner,
        maxBodyBytes,
        secrets,
        sse: { ...sse, onError: streamReport(req.url, req.method) },
      })
    } catch (err) {
      return failure(err, report)
    }
  }

  if (cors === undefined) return handle

  return async function leanflowCorsHandler(req: Request): Promise<Response> {
    let origin: string | undefined
    try {
      origin = await cors.allowedOrigin(req)
    } catch (err) {
      reportTo(err, req) // a throwing cors.origin function allows nothing
    }
    if (!cors.isPreflight(req)) return cors.decorate(await handle(req), origin)
    // a preflight carries no credentials and acts on nothing: authorize is not asked
    try {
      return cors.preflight(req, origin, routeMethods(requestUrl(req).pathname, basePath))
    } catch (err) {
      return failure(err, (e) => reportTo(e, req))
    }
  }
}

/**
 * The error answer of a thrown value, with `Allow` for a 405. The header goes in when the Response
 * is made: `res.headers.set()` afterwards is lost where `global.Response` is @hono/node-server's
 * lightweight Response (its headers are rebuilt from the original init once the body is read).
 */
function failure(err: unknown, report: (err: unknown) => void): Response {
  const allow = (err as { allow?: unknown } | null)?.allow
  return errorResponse(err, report, typeof allow === 'string' ? { allow } : undefined)
}
