// @leanflow/http/client: watchRun, the browser side of a run's SSE stream. It folds the events
// into the run's state with core's applyEvent and imports nothing else (it runs in browsers).
import { applyEvent, compareEventIds, type EventRecord, emptyFlowState, type FlowState, isEventId, isTerminalKind } from '@leanflow/core'

/** The part of an `EventSource` that {@link watchRun} uses (the browser's, or the `eventsource` package). */
export interface EventSourceLike {
  readonly readyState: number
  addEventListener(type: string, listener: (event: MessageEvent) => void): void
  close(): void
}

/** A constructor like the browser's `EventSource`. */
export type EventSourceConstructor = new (url: string, init?: { withCredentials?: boolean }) => EventSourceLike

/** Sent with `event: end` after a run's terminal event. */
export interface RunEnd {
  lastEventId: string
  kind: string
}

/**
 * Options of {@link watchRun}.
 *
 * @example
 * ```ts
 * const opts: WatchRunOptions = { onState: (s) => console.log(s.status) }
 * ```
 */
export interface WatchRunOptions {
  /** Called with the new state after every new event (and with an empty state after a reset). */
  onState?: ((state: FlowState) => void) | undefined
  /** Called once per new event, in id order; duplicates after a reconnect are skipped. */
  onEvent?: ((event: EventRecord) => void) | undefined
  /**
   * Called once when the run has ended; the connection is closed. Also when the watch began at or
   * past the end of a run that had ended (`?after=` its last event id: the server answers 204):
   * `end` is then that run's terminal event, read once from `…/runs/:runId/events` (`runs.read`).
   */
  onEnd?: ((end: RunEnd, state: FlowState) => void) | undefined
  /**
   * Called when the stream fails for good (unknown run, refused request) or sends a bad record,
   * and with the error of another callback that threw (the watcher goes on).
   * A refused stream's error carries the HTTP `status` and, when the server sent one, its error
   * `code` (`err.status === 404`, `err.code === 'RUN_NOT_FOUND'`), also in the message.
   */
  onError?: ((err: Error & { status?: number; code?: string }) => void) | undefined
  /**
   * Called with `'retrying'` when the stream dropped and the `EventSource` tries again on its own
   * (the server down or restarting: no event comes meanwhile, and none is lost once it is back),
   * and with `'open'` each time the stream is open (again). A page can say the run is not live
   * while it retries.
   */
  onConnection?: ((status: 'open' | 'retrying') => void) | undefined
  /** @default globalThis.EventSource (in Node, pass `EventSource` from the `eventsource` package) */
  EventSource?: EventSourceConstructor | undefined
  /** Send cookies cross-origin. @default false */
  withCredentials?: boolean | undefined
  /**
   * The `fetch` of watchRun's own requests: the error body of a refused stream (its `code`) and the
   * end of a run that had ended. Give it what authorizes your `EventSource` (a header, say), or
   * those requests are refused and the error says only the stream's status. @default globalThis.fetch
   *
   * @example
   * ```ts
   * const authorized: typeof fetch = (input, init) => fetch(input, { ...init, headers: { ...init?.headers, authorization: `Bearer ${token}` } })
   * watchRun(url, { EventSource: AuthorizedEventSource, fetch: authorized })
   * ```
   */
  fetch?: typeof fetch | undefined
}

/** A live view of one run; `close()` stops it. */
export interface RunWatcher {
  /** The current state. */
  readonly state: FlowState
  close(): void
}

const TERMINAL: Partial<Record<string, string>> = { completed: 'flow.completed', failed: 'flow.failed', canceled: 'flow.canceled' }
const CLOSED = 2

/** A URL's path and its query: everything after the first `?` (a value may hold another `?`). */
function splitUrl(url: string): [string, URLSearchParams] {
  const [path = '', ...query] = url.split('?')
  return [path, new URLSearchParams(query.join('?'))]
}

/** `url` with its position (`?after=`) set to `after`, or taken out. */
function withoutPosition(url: string, after?: string): string {
  const [path, q] = splitUrl(url)
  if (after === undefined) q.delete('after')
  else q.set('after', after)
  const rest = `${q}`
  return rest ? `${path}?${rest}` : path
}

/** Times watchRun follows again a stream that failed while a request to it answers 2xx (a proxy's passing 502). */
const RETRIES = 3

/**
 * Watches a run live over SSE (`GET <basePath>/runs/:runId/stream`) and folds its
 * events with `applyEvent`, so reconnects neither lose nor double events. It closes
 * on `end`; on `reset` (history gone, run gone, or a position the log does not have) it starts again from scratch.
 *
 * @example
 * ```ts
 * import { watchRun } from '@leanflow/http/client'
 *
 * const w = watchRun(`/flows/runs/${runId}/stream`, {
 *   onState: (state) => render(state),
 *   onEnd: (end, state) => console.log('done', end.kind, state.result),
 * })
 * // later: w.close()
 * ```
 */
export function watchRun(url: string, options: WatchRunOptions = {}): RunWatcher {
  const ES = options.EventSource ?? (globalThis as { EventSource?: EventSourceConstructor }).EventSource
  if (ES === undefined) {
    throw clientError(
      'INVALID_ARGUMENT',
      'LeanflowError',
      'watchRun: no EventSource here; pass one: watchRun(url, { EventSource }) (the "eventsource" package in Node).',
    )
  }
  // a path (the browser sample's) resolves against the page; in Node there is none, and the
  // EventSource's own error (a DOMException, "An invalid or illegal string") names neither
  const page = (globalThis as { location?: { href?: string } }).location?.href
  if (typeof url !== 'string' || !parses(url, page)) {
    throw clientError(
      'INVALID_ARGUMENT',
      'LeanflowError',
      `watchRun: url ${JSON.stringify(url)?.slice(0, 200)} is no absolute URL${page === undefined ? ', and there is no page here to resolve a path against' : ''}: pass one such as "http://localhost:3000/flows/runs/<runId>/stream".`,
    )
  }
  if (options.fetch !== undefined && typeof options.fetch !== 'function') {
    throw clientError('INVALID_ARGUMENT', 'LeanflowError', `watchRun: fetch must be a function, got ${typeof options.fetch}.`)
  }
  const credentials = options.withCredentials === true
  let state = emptyFlowState()
  let source: EventSourceLike | undefined
  let closed = false
  /** Follows again since the stream last opened (see {@link RETRIES}). */
  let retries = 0

  const fail = (err: Error) => {
    try {
      options.onError?.(err)
    } catch {
      // a throwing callback must not break the stream
    }
  }

  /**
   * Runs one of the caller's callbacks: one that throws goes to `onError` and stops neither the
   * watcher nor the callbacks after it (an EventSource listener that throws would otherwise skip
   * `onState` for that event, and crash a Node process as an uncaught exception).
   */
  const notify = <A extends unknown[]>(callback: ((...args: A) => void) | undefined, ...args: A) => {
    try {
      callback?.(...args)
    } catch (err) {
      fail(err as Error)
    }
  }

  const end = (info: RunEnd) => {
    if (closed) return
    close()
    notify(options.onEnd, info, state)
  }

  const connect = (target: string) => {
    const es = new ES(target, { withCredentials: credentials })
    source = es
    es.addEventListener('message', (m) => {
      if (closed || source !== es) return
      const event = eventOf(String(m.data))
      if (event === undefined) {
        fail(invalidEvent(target, String(m.data)))
        return
      }
      const last = state.lastEventId
      if (last !== undefined && compareEventIds(event.id, last) <= 0) return
      state = applyEvent(state, event)
      notify(options.onEvent, event)
      notify(options.onState, state)
    })
    es.addEventListener('end', (m) => {
      if (source !== es) return
      let info: RunEnd
      try {
        info = JSON.parse(String(m.data)) as RunEnd
      } catch {
        info = { lastEventId: state.lastEventId ?? '', kind: TERMINAL[state.status] ?? '' }
      }
      end(info)
    })
    es.addEventListener('reset', () => {
      if (closed || source !== es) return
      es.close()
      state = emptyFlowState()
      notify(options.onState, state)
      connect(withoutPosition(url))
    })
    es.addEventListener('open', () => {
      if (closed || source !== es) return
      retries = 0
      notify(options.onConnection, 'open')
    })
    es.addEventListener('error', (ev) => {
      if (closed || source !== es) return
      // dropped, and the EventSource tries again on its own
      if (es.readyState !== CLOSED) return notify(options.onConnection, 'retrying')
      // closed for good: a 204 after the run ended, or a refused request (404, 401…)
      const kind = TERMINAL[state.status]
      if (kind !== undefined && state.lastEventId !== undefined) return end({ lastEventId: state.lastEventId, kind })
      es.close()
      // the eventsource package reports the status (`code`), a browser does not, and neither the
      // error code of the body: ask once (the status seen wins, should the second answer differ)
      const code = (ev as unknown as { code?: unknown }).code
      probe(target, options).then(async (asked) => {
        const why = typeof code === 'number' && asked.status !== code ? { status: code } : asked
        // 204: the position (`?after=`) was at or past the end of a run that ended before this watch
        if (why.status === 204) return end(await endOf(target, state.lastEventId, options))
        if (closed) return
        // it answers now (a proxy's 502 or 503 that has passed): followed again from the last event
        // seen, a few times, before it counts as refused
        if (why.status !== undefined && why.status < 300 && retries < RETRIES) {
          retries++
          notify(options.onConnection, 'retrying')
          setTimeout(
            () => closed || connect(state.lastEventId === undefined ? target : withoutPosition(target, state.lastEventId)),
            500 * retries,
          )
          return
        }
        close()
        fail(refused(target, why))
      })
    })
  }

  function close(): void {
    closed = true
    source?.close()
  }

  connect(url)
  return {
    get state() {
      return state
    },
    close,
  }
}

/**
 * The event a `message` frame carries, or undefined for a frame that is not one. The server sends
 * only events its store validated, and `applyEvent` is total, so this checks the envelope's
 * fields the watcher reads; `parseEvent`'s field-by-field messages stay out of a browser bundle.
 */
function eventOf(text: string): EventRecord | undefined {
  let v: Partial<EventRecord> | null
  try {
    v = JSON.parse(text) as Partial<EventRecord> | null
  } catch {
    return undefined
  }
  return typeof v === 'object' && v !== null && isEventId(v.id) && typeof v.kind === 'string' && typeof v.flow === 'string'
    ? (v as EventRecord)
    : undefined
}

/**
 * A 400 error of the client, recognised by `isLeanflowError` as core's errors are, without
 * core's `LeanflowError` class and its table of codes (kept out of the browser bundle).
 */
function clientError<C extends 'INVALID_EVENT' | 'INVALID_ARGUMENT'>(
  code: C,
  name: string,
  message: string,
): Error & { code: C; status: 400 } {
  const err = new Error(message) as Error & { code: C; status: 400 }
  err.name = name
  err.code = code
  err.status = 400
  Object.defineProperty(err, Symbol.for('leanflow.error'), { value: true })
  return err
}

/** The error of a frame that is no event: code `INVALID_EVENT`, like core's `InvalidEventError`. */
function invalidEvent(target: string, text: string): Error & { code: 'INVALID_EVENT'; status: 400 } {
  const shown = text.length > 80 ? `${text.slice(0, 80)}…` : text
  return clientError(
    'INVALID_EVENT',
    'InvalidEventError',
    `watchRun: the stream ${target} sent a record that is not an event (${shown}): it needs a stream id "id", a "kind" and a "flow".`,
  )
}

/** What a refused stream answered: its status and, from a JSON error body, code and message. */
interface Refusal {
  status?: number | undefined
  code?: string | undefined
  message?: string | undefined
}

/** The error of a stream closed for good, with the status and code when known. */
function refused(target: string, why: Refusal): Error & Refusal {
  const detail =
    why.status === undefined
      ? 'unknown run, or the request was refused'
      : why.status < 300
        ? `it failed ${RETRIES + 1} times, yet answers fetch with HTTP ${why.status}: an EventSource sends no fetch headers; a stale stream token?`
        : `HTTP ${why.status}${why.code ? ` ${why.code}` : ''}${why.message ? `: ${why.message}` : ''}`
  const err: Error & Refusal = new Error(`watchRun: the stream ${target} closed for good (${detail}).`)
  if (why.status !== undefined) err.status = why.status
  if (why.code !== undefined) err.code = why.code
  return err
}

/**
 * The end of a run whose stream answered 204 (the watch began at or past its terminal event): that
 * event, asked from `GET …/runs/:runId/events` beside the stream (action `runs.read`), read
 * backward from the run's last event, 8 events then pages of 1000, however many events follow the
 * end (a step that completed after a cancel). Refused or unreachable, the end is the position the
 * watch began at, with an empty `kind`. The stream URL's other query parameters (a stream token
 * that `authorize` checks) are sent along.
 */
async function endOf(target: string, seen: string | undefined, http: Http): Promise<RunEnd> {
  // the stream URL's other query parameters (a stream token) go along; the page's are set here
  const [path, q] = splitUrl(target)
  const after = q.get('after')
  q.delete('after')
  q.delete('before')
  q.set('direction', 'backward')
  const eventsPath = path.replace(/\/stream\/?$/, '/events')
  for (let limit = 8; eventsPath !== path; limit = 1000) {
    q.set('limit', `${limit}`)
    const page = await ask(`${eventsPath}?${q}`, http)
    const events = (page.body as { events?: Partial<EventRecord>[] } | undefined)?.events ?? []
    // the run's (first) terminal event: the oldest of the first page that has one (a later one changes nothing)
    const last = events.findLast((e) => isTerminalKind(String(e.kind)))
    if (last) return { lastEventId: String(last.id), kind: String(last.kind) }
    if (events.length < limit) break
    q.set('before', `${events.at(-1)?.id}`)
  }
  return { lastEventId: seen ?? after ?? '', kind: '' }
}

/** Asks the stream's URL once, for its status and error body (then drops the connection). */
async function probe(target: string, http: Http): Promise<Refusal> {
  const { status, body } = await ask(target, http)
  const error = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error
  const out: Refusal = { status }
  if (typeof error?.code === 'string') out.code = error.code
  if (typeof error?.message === 'string') out.message = error.message
  return out
}

/** How watchRun asks on its own: the `fetch` given (else the global one) and the credentials mode. */
type Http = Pick<WatchRunOptions, 'fetch' | 'withCredentials'>

/** One GET with the watch's fetch and credentials mode: its status and JSON body (nothing when it failed). */
async function ask(url: string, { fetch: given, withCredentials }: Http): Promise<{ status?: number; body?: unknown }> {
  const f = given ?? (globalThis as { fetch?: typeof fetch }).fetch
  if (f === undefined) return {}
  const ac = new AbortController()
  try {
    const res = await f(url, {
      headers: { accept: 'text/event-stream, application/json' },
      credentials: withCredentials === true ? 'include' : 'same-origin',
      signal: ac.signal,
    })
    return { status: res.status, body: (res.headers.get('content-type') ?? '').includes('json') ? await res.json() : undefined }
  } catch {
    return {}
  } finally {
    ac.abort()
  }
}

/** Whether `url` is a URL, resolved against `base` (the page's) when given (no `URL.canParse`: older browsers lack it). */
function parses(url: string, base: string | undefined): boolean {
  try {
    new URL(url, base)
    return true
  } catch {
    return false
  }
}
