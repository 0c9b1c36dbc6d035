// The `cors` option, checked once by createCors; per request, the allowed origin, the preflight
// answer and the Access-Control-* headers added to every answer.
import { LeanflowError } from '@leanflow/core'
import type { CorsOptions } from '../types.js'
import { reasonPhrase } from './reasonPhrase.js'
import { errorJson } from './respond.js'

/** Request headers a page may always send (besides the CORS-safelisted ones). */
export const CORS_ALLOW_HEADERS = [
  'content-type',
  'authorization',
  'idempotency-key',
  'leanflow-priority',
  'traceparent',
  'last-event-id',
  'leanflow-signature',
] as const
/** Response headers a page may always read (besides the CORS-safelisted ones). */
export const CORS_EXPOSE_HEADERS = ['retry-after', 'allow'] as const

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/

/** The `cors` option, checked once; what the handler asks of it per request. */
export interface Cors {
  /** The request's `Origin` when the options allow it; `undefined` when absent or not allowed. */
  allowedOrigin(req: Request): Promise<string | undefined>
  /** A CORS preflight: `OPTIONS` with `Access-Control-Request-Method`. */
  isPreflight(req: Request): boolean
  /** The answer to a preflight for a path that answers `methods`. */
  preflight(req: Request, origin: string | undefined, methods: readonly string[]): Response
  /** `res` with the headers for `origin` (and `Vary: Origin`), as a new Response around the same body. */
  decorate(res: Response, origin: string | undefined): Response
}

function invalid(message: string): LeanflowError {
  return new LeanflowError('INVALID_ARGUMENT', `createHandler: ${message}`)
}

function headerList(value: readonly string[] | undefined, name: string): string[] {
  if (value === undefined) return []
  if (!Array.isArray(value)) throw invalid(`cors.${name} must be an array of header names, got ${typeof value}.`)
  return value.map((h) => {
    if (typeof h !== 'string' || !HEADER_NAME.test(h)) throw invalid(`cors.${name} has ${JSON.stringify(h)}, which is not a header name.`)
    return h.toLowerCase()
  })
}

function originList(list: readonly string[]): Set<string> {
  const out = new Set<string>()
  for (const o of list) {
    if (o === '*') throw invalid(`cors.origin lists "*": to allow any origin, pass cors: { origin: '*' } (no list).`)
    let serialized: string | undefined
    try {
      serialized = typeof o === 'string' ? new URL(o).origin : undefined
    } catch {
      serialized = undefined
    }
    if (serialized !== o) {
      const hint = serialized === undefined || serialized === 'null' ? '' : ` (did you mean "${serialized}"?)`
      throw invalid(
        `cors.origin has ${JSON.stringify(o)}, which is not an origin${hint}: use scheme, host and port only, such as "https://app.example.com".`,
      )
    }
    out.add(o)
  }
  return out
}

/** Checks the `cors` option (INVALID_ARGUMENT naming the value) and makes its per-request part. */
export function createCors(options: CorsOptions): Cors {
  if (typeof options !== 'object' || options === null)
    throw invalid('cors must be an object such as { origin: ["https://app.example.com"] }.')
  const { origin } = options
  const credentials = options.credentials === true
  let allows: (origin: string, req: Request) => boolean | Promise<boolean>
  if (origin === '*') {
    if (credentials) {
      throw invalid(
        `cors: { origin: '*', credentials: true } is refused by browsers: list the origins (or pass a function) to allow credentials.`,
      )
    }
    allows = () => true
  } else if (typeof origin === 'function') allows = origin
  else if (Array.isArray(origin)) {
    const set = originList(origin)
    allows = (o) => set.has(o)
  } else throw invalid(`cors.origin must be '*', a list of origins or a function, got ${JSON.stringify(origin)}.`)
  const maxAge = options.maxAge ?? 600
  if (!Number.isInteger(maxAge) || maxAge < 0)
    throw invalid(`cors.maxAge must be a whole number of seconds (0 or more), got ${String(maxAge)}.`)
  const allowHeaders = [...new Set([...CORS_ALLOW_HEADERS, ...headerList(options.allowHeaders, 'allowHeaders')])].join(', ')
  const exposeHeaders = [...new Set([...CORS_EXPOSE_HEADERS, ...headerList(options.exposeHeaders, 'exposeHeaders')])].join(', ')
  const any = origin === '*'

  const originHeaders = (o: string): Record<string, string> => {
    const h: Record<string, string> = { 'access-control-allow-origin': any ? '*' : o }
    if (credentials) h['access-control-allow-credentials'] = 'true'
    return h
  }

  return {
    async allowedOrigin(req) {
      const o = req.headers.get('origin')
      if (o === null || o === '') return undefined
      return (await allows(o, req)) === true ? o : undefined
    },
    isPreflight: (req) => req.method === 'OPTIONS' && req.headers.has('access-control-request-method'),
    preflight(req, o, methods) {
      const vary = { vary: 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers' }
      if (o === undefined) {
        const shown = JSON.stringify(req.headers.get('origin') ?? '')
        return errorJson(
          'FORBIDDEN',
          `Origin ${shown} may not call this API from a browser: add it to createHandler({ cors: { origin } }).`,
          403,
          vary,
        )
      }
      const method = req.headers.get('access-control-request-method') ?? ''
      if (!methods.includes(method)) {
        const allow = methods.join(', ')
        return errorJson('METHOD_NOT_ALLOWED', `${JSON.stringify(method)} is not allowed on this path: use ${allow}.`, 405, {
          ...vary,
          allow,
        })
      }
      return new Response(null, {
        status: 204,
        statusText: reasonPhrase(204),
        headers: {
          ...originHeaders(o),
          'access-control-allow-methods': methods.join(', '),
          'access-control-allow-headers': allowHeaders,
          'access-control-max-age': String(maxAge),
          ...vary,
        },
      })
    },
    decorate(res, o) {
      if (o === undefined && any) return res // nothing to add: the answer is the same for every origin
      const add: Record<string, string> = o === undefined ? {} : { ...originHeaders(o), 'access-control-expose-headers': exposeHeaders }
      const headers = new Headers(res.headers)
      set(headers, add, any)
      // a new Response rather than res.headers.set(): a Response's headers may be immutable
      // (Response.redirect(), a fetched one); the body (an SSE stream too) is handed on unread
      return new Response(res.body, { status: res.status, statusText: res.statusText, headers })
    },
  }
}

function set(headers: Headers, add: Record<string, string>, any: boolean): void {
  for (const [k, v] of Object.entries(add)) headers.set(k, v)
  if (any) return
  // the answer depends on the Origin: caches must keep one per origin
  const vary = headers.get('vary')
  if (vary === null) headers.set('vary', 'Origin')
  else if (!/(^|,)\s*(origin|\*)\s*(,|$)/i.test(vary)) headers.set('vary', `${vary}, Origin`)
}
