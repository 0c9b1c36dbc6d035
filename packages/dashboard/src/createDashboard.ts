import { loadAssets } from './internal/assets.js'
import { renderPage } from './internal/renderPage.js'

/**
 * Options of {@link createDashboard}.
 *
 * @example
 * ```ts
 * const opts: DashboardOptions = { apiBase: '/flows', basePath: '/dashboard', title: 'Acme flows' }
 * ```
 */
export interface DashboardOptions {
  /**
   * Where the leanflow HTTP handler (`createHandler` of `@leanflow/http`) is mounted, on the same
   * origin: the page calls only its routes, so the handler's `authorize` guards everything it shows
   * and does (cookies and headers of the page's requests pass through as usual).
   * @default '/flows'
   */
  apiBase?: string | undefined
  /**
   * Where this handler is mounted: it serves `<basePath>/` (the page), `<basePath>/app.js` and
   * `<basePath>/app.css`; one trailing slash is ignored, other characters than ASCII are
   * percent-encoded (as a request's URL has them).
   * @default '/dashboard'
   */
  basePath?: string | undefined
  /** The page's title and heading. @default 'leanflow' */
  title?: string | undefined
}

/** A Web handler: `Request` in, `Response` out (mount it with `@leanflow/http`'s adapters). */
export type DashboardHandler = (req: Request) => Promise<Response>

const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
}

function normalizePath(path: string, option: string, example: string): string {
  if (typeof path !== 'string' || !path.startsWith('/') || /[?#\s"'<>\\]/.test(path))
    throw invalidArgument(`Invalid dashboard ${option} ${shownValue(path)}: pass an absolute path such as '${example}'.`)
  // as a request's URL has it (`/tableau-é` is `/tableau-%C3%A9`), so it matches and the page links it
  let p = new URL(`http://base.invalid${path}`).pathname
  while (p.length > 1 && p.endsWith('/')) p = p.slice(0, -1)
  return p === '/' ? '' : p
}

/**
 * Creates the dashboard's handler: a prebuilt single-page app (no CDN, no build step at run time)
 * that shows the flows, their runs and each run live (step graph, timeline, logs, state, raw events,
 * time travel) and cancels, reruns, resolves triggers and publishes events, all through the leanflow
 * HTTP API at `apiBase`. It has no auth of its own: the API's `authorize` decides what each request
 * may do. Deep links: `<basePath>/#/flows/<flow>` and `<basePath>/#/runs/<runId>`.
 *
 * @example
 * ```ts
 * import http from 'node:http'
 * import { createDashboard } from '@leanflow/dashboard'
 * import { createHandler } from '@leanflow/http'
 * import { toNodeHandler } from '@leanflow/http/node'
 *
 * const api = toNodeHandler(createHandler({ store, runner, basePath: '/flows', authorize }))
 * const dashboard = toNodeHandler(createDashboard({ apiBase: '/flows', basePath: '/dashboard', title: 'Acme flows' }))
 * http.createServer((req, res) => (req.url?.startsWith('/dashboard') ? dashboard(req, res) : api(req, res))).listen(3000)
 * // open http://localhost:3000/dashboard/
 * ```
 */
export function createDashboard(options: DashboardOptions = {}): DashboardHandler {
  if (options !== undefined && (typeof options !== 'object' || options === null || Array.isArray(options)))
    throw invalidArgument(`createDashboard options must be an object { apiBase?, basePath?, title? }, got ${shownValue(options)}.`)
  // a misspelt option (`apibase`) would leave the dashboard on the default without a word
  for (const key of Object.keys(options ?? {}))
    if (!DASHBOARD_KEYS.includes(key as keyof DashboardOptions))
      throw invalidArgument(`createDashboard has an unknown option "${key.slice(0, 64)}": pass only ${DASHBOARD_KEYS.join(', ')}.`)
  const apiBase = normalizePath(options.apiBase ?? '/flows', 'apiBase', '/flows')
  const basePath = normalizePath(options.basePath ?? '/dashboard', 'basePath', '/dashboard')
  const title = options.title ?? 'leanflow'
  if (typeof title !== 'string') throw invalidArgument(`Invalid dashboard title ${shownValue(title)}: pass a string.`)
  let html: string | undefined
  return async (req) => {
    const path = new URL(req.url).pathname
    const rest = path === basePath ? '/' : path.startsWith(`${basePath}/`) ? path.slice(basePath.length) : undefined
    const file = rest === '/' || rest === '/index.html' ? 'page' : rest === '/app.js' ? 'js' : rest === '/app.css' ? 'css' : undefined
    if (file === undefined) return text(404, `No dashboard file at ${JSON.stringify(path)}: the page is ${basePath}/.`)
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return new Response(`${req.method} is not allowed on ${JSON.stringify(path)}: use GET.`, {
        status: 405,
        headers: { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' },
      })
    const assets = await loadAssets()
    let body: string
    let type: string
    if (file === 'page') {
      html ??= renderPage({ apiBase, basePath, title })
      body = html
      type = 'text/html; charset=utf-8'
    } else {
      body = assets[file]
      type = file === 'js' ? 'text/javascript; charset=utf-8' : 'text/css; charset=utf-8'
    }
    // the page is small and changes with the package: revalidate every time (no stale app after an upgrade)
    const headers = { 'content-type': type, 'cache-control': 'no-cache', ...SECURITY_HEADERS }
    return new Response(req.method === 'HEAD' ? null : body, { status: 200, headers })
  }
}

function text(status: number, message: string): Response {
  return new Response(message, { status, headers: { 'content-type': 'text/plain; charset=utf-8' } })
}

/** `value` as an error message shows it: its JSON, cut at 64 characters (core's `shown`). */
function shownValue(value: unknown): string {
  let text: string
  try {
    text = JSON.stringify(value) ?? String(value)
  } catch {
    text = typeof value
  }
  return text.length > 64 ? `${text.slice(0, 64)}…` : text
}

/** Every option of {@link createDashboard}. */
const DASHBOARD_KEYS: ReadonlyArray<keyof DashboardOptions> = ['apiBase', 'basePath', 'title']

/**
 * A LeanflowError-shaped error (name, code `INVALID_ARGUMENT`, status 400, the `Symbol.for` brand
 * `isLeanflowError` reads) without importing core: the dashboard's handler imports only its own files.
 */
function invalidArgument(message: string): Error {
  const err = new Error(message) as Error & { code: string; status: number }
  err.name = 'LeanflowError'
  err.code = 'INVALID_ARGUMENT'
  err.status = 400
  Object.defineProperty(err, Symbol.for('leanflow.error'), { value: true })
  return err
}
