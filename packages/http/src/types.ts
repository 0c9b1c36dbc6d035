// The public types of @leanflow/http: the handler, its options, `authorize` and its actions.
import type { StreamStore } from '@leanflow/core'

/**
 * What a request asks to do, as `authorize` sees it.
 *
 * @example
 * ```ts
 * const authorize: Authorize = (req, action) => action.startsWith('runs.') ? true : false
 * ```
 */
export type HandlerAction =
  | 'flows.list'
  | 'runs.list'
  | 'runs.start'
  | 'runs.read'
  | 'runs.stream'
  | 'runs.cancel'
  | 'runs.rerun'
  | 'triggers.resolve'
  | 'events.publish'
  | 'schedules.read'
  | 'schedules.write'
  | 'limits.read'

/** The route's path parameters (percent-decoded and validated names). */
export interface RouteParams {
  flow?: string
  runId?: string
  triggerId?: string
  scheduleId?: string
}

/**
 * Decides whether a request may go on. Runs before any store access.
 * Return `true` (go on), `false` (403 `FORBIDDEN`), or a `Response` sent as is (e.g. a 401).
 *
 * @example
 * ```ts
 * const authorize: Authorize = (req) =>
 *   req.headers.get('authorization') === `Bearer ${token}`
 *     ? true
 *     : Response.json({ error: { code: 'UNAUTHORIZED', message: 'Send a bearer token.' } }, { status: 401 })
 * ```
 */
export type Authorize = (req: Request, action: HandlerAction, params: RouteParams) => boolean | Response | Promise<boolean | Response>

/**
 * The part of a runner the handler uses (typed structurally, so `@leanflow/http`
 * depends on core only). `createRunner()` from `@leanflow/runner` satisfies it.
 *
 * @example
 * ```ts
 * const runner: HandlerRunner = createRunner({ store, flows: [orderFlow] })
 * ```
 */
export interface HandlerRunner {
  readonly flows: readonly { name: string }[]
  /**
   * Starts a run. `deduplicated: true` when no new run was started (a singleton's active run, or a
   * debounce window the call folded into); a `rateLimit` in `drop` mode that refuses throws
   * `RATE_LIMITED` (429) with `retryAfterMs`.
   */
  startFlow(
    name: string,
    input: unknown,
    opts?: {
      runId?: string | undefined
      idempotencyKey?: string | undefined
      priority?: number | undefined
      traceparent?: string | undefined
    },
  ): Promise<{ runId: string; deduplicated?: boolean | undefined }>
  cancel(runId: string, reason?: string): Promise<void>
  /**
   * Starts a new run that reruns `runId` (`runner.rerun`), for `POST /runs/:runId/rerun` (its
   * `Idempotency-Key` header as `idempotencyKey`, its `traceparent` header as `traceparent`); without it that route answers 404. `RUN_NOT_FOUND` (404) for an unknown run, `INVALID_ARGUMENT` (400) for a
   * `from` that is not a step of it. `deduplicated: true` when no new run was started (the flow's
   * singleton or debounce window took it).
   */
  rerun?:
    | ((
        runId: string,
        opts?: { from?: string | undefined; input?: unknown; idempotencyKey?: string | undefined; traceparent?: string | undefined },
      ) => Promise<{ runId: string; deduplicated?: boolean | undefined }>)
    | undefined
  resolveTrigger(id: string, payload: unknown): Promise<{ runId: string; step: string }>
  publishEvent(e: { kind: string; data: unknown }, opts?: { idempotencyKey?: string | undefined }): Promise<{ id: string }>
  /**
   * The runner's schedules (`runner.schedules`), for the `/schedules` routes; without it they
   * answer 404. The handler sends what they return as is (`ScheduleInfo` of `@leanflow/runner`);
   * an unknown id throws `SCHEDULE_NOT_FOUND` (404).
   */
  readonly schedules?:
    | {
        list(): Promise<readonly { id: string }[]>
        pause(id: string): Promise<{ id: string }>
        resume(id: string): Promise<{ id: string }>
        trigger(id: string): Promise<{ runId: string }>
      }
    | undefined
  /**
   * The flow's limits in use (`runner.limits(flow)`), for `GET /:flow/limits`; without it that route
   * answers 404. The handler sends the list as is (`LimitInfo` of `@leanflow/runner`).
   */
  limits?: ((flow: string) => Promise<{ limits: readonly HandlerLimitInfo[] }>) | undefined
}

/**
 * One limit of a flow in use, as `GET /:flow/limits` answers it: its scope (`'flow'`, or a step's
 * name), kind, key (`''` without a key function), holders now (for a rate limit: admissions in the
 * current window) and runs or steps waiting in its line.
 *
 * @example
 * ```ts
 * const info: HandlerLimitInfo = { scope: 'flow', kind: 'concurrency', key: 'tenant-1', active: 1, queued: 4 }
 * ```
 */
export interface HandlerLimitInfo {
  scope: string
  kind: 'concurrency' | 'rateLimit'
  key: string
  active: number
  queued: number
}

/**
 * Cross-origin access for browser pages on other origins (the `cors` option of
 * {@link createHandler}); off unless given. It answers preflights (`OPTIONS` with
 * `Access-Control-Request-Method`, without calling `authorize`) and adds the
 * `Access-Control-*` headers to the answers for allowed origins. It decides only what a
 * browser lets a page send and read: `authorize` still decides what a request may do.
 *
 * @example
 * ```ts
 * createHandler({
 *   store,
 *   runner,
 *   authorize,
 *   cors: { origin: ['https://app.example.com'], credentials: true },
 * })
 * // a page on https://app.example.com:
 * // fetch('https://api.example.com/flows/order/runs', { method: 'POST', credentials: 'include',
 * //   headers: { 'content-type': 'application/json' }, body: JSON.stringify({ orderId: 'o-1' }) })
 * ```
 */
export interface CorsOptions {
  /**
   * The origins allowed: a list of exact origins (`'https://app.example.com'`: scheme, host and
   * port, no path or trailing slash), `'*'` for any origin (not with `credentials`), or a
   * function of the request's `Origin` header (return `true` to allow it).
   */
  origin: '*' | readonly string[] | ((origin: string, req: Request) => boolean | Promise<boolean>)
  /**
   * Let pages send cookies (and HTTP authentication) with their requests
   * (`fetch(url, { credentials: 'include' })`, `new EventSource(url, { withCredentials: true })`):
   * answers `Access-Control-Allow-Credentials: true` and names the origin (never `*`).
   * @default false
   */
  credentials?: boolean | undefined
  /**
   * Request headers a page may send, besides `Content-Type`, `Authorization`,
   * `Idempotency-Key`, `Leanflow-Priority`, `Last-Event-ID` and `leanflow-signature` (always allowed).
   * @default []
   */
  allowHeaders?: readonly string[] | undefined
  /**
   * Response headers a page may read, besides `Retry-After` and `Allow` (always exposed) and
   * the ones every page may read (`Content-Type`, `Cache-Control`, …).
   * @default []
   */
  exposeHeaders?: readonly string[] | undefined
  /** How long a browser may cache a preflight answer, in seconds (`Access-Control-Max-Age`). @default 600 */
  maxAge?: number | undefined
}

/**
 * Options of {@link createHandler}.
 *
 * @example
 * ```ts
 * createHandler({ store, runner, basePath: '/api/flows', triggerSecret: process.env.TRIGGER_SECRET })
 * ```
 */
export interface HandlerOptions {
  /** The event log (memory or Redis store). */
  store: StreamStore
  /** Needed by the routes that start, cancel, resolve, publish, manage schedules or read limits; without it they answer 404. */
  runner?: HandlerRunner | undefined
  /** @default '/flows' */
  basePath?: string | undefined
  /** Runs before any store access; no `authorize`: everything is allowed. */
  authorize?: Authorize | undefined
  /** Cross-origin access for browser pages on other origins; off unless given (see {@link CorsOptions}). */
  cors?: CorsOptions | undefined
  /**
   * HMAC secret for `POST /triggers/:id` (header `leanflow-signature`); an array
   * accepts any of several secrets (rotation).
   */
  triggerSecret?: string | readonly string[] | undefined
  /** @default 1048576 (1 MiB) */
  maxBodyBytes?: number | undefined
  /** SSE heartbeat comment interval. @default 15000 */
  heartbeatMs?: number | undefined
  /** SSE frames queued for a client that does not read before it is dropped. @default 1000 */
  maxQueuedFrames?: number | undefined
  /**
   * SSE bytes queued for a client that does not read past which its stream stops reading the
   * store until it reads again (it paces, it never drops: a client that never reads again is
   * dropped by `maxQueuedFrames`, its heartbeats filling the queue). Bounds what one client holds
   * when events are large (1,000 frames of 1 MiB would be 1 GiB).
   *
   * @example
   * ```ts
   * createHandler({ store, maxQueuedBytes: 2 * 1024 * 1024 }) // a stalled client holds ~2–4 MiB at most
   * ```
   * @default 8388608 (8 MiB)
   */
  maxQueuedBytes?: number | undefined
  /** Open SSE streams past which new ones get `retry:` and close at once. @default 10000 */
  maxStreams?: number | undefined
  /** SSE `retry:` sent to clients, in ms. @default 1000 */
  retryMs?: number | undefined
  /**
   * Called with every unexpected error (answered 500 without details) and every
   * SSE stream that fails. For a stream that fails after its answer began, `req` is a
   * `Request` with the stream's URL and method (the original's headers are not kept for
   * the stream's lifetime). @default console.error
   */
  onError?: ((err: unknown, req: Request) => void) | undefined
}

/**
 * A leanflow HTTP handler: a Web `Request` in, a `Response` out.
 *
 * @example
 * ```ts
 * const handler: Handler = createHandler({ store })
 * const res = await handler(new Request('http://x/flows/'))
 * ```
 */
export type Handler = (req: Request) => Promise<Response>
