// The Content-Type check of a route that takes a JSON body (415 before a byte is read).
import { LeanflowError } from '@leanflow/core'

const TOKEN = '[a-z0-9!#$&^_.+-]+'
const JSON_TYPE = new RegExp(`^(?:application/json|${TOKEN}/${TOKEN}\\+json)$`)
const CHARSET = /;\s*charset\s*=\s*"?([^";\s]*)"?/i

/**
 * Refuses a request whose body is not declared JSON: its `Content-Type` must be
 * `application/json` or a `+json` type (`application/vnd.api+json`), with any parameters but a
 * charset other than UTF-8. Anything else — none, `text/plain`, a form — is 415
 * UNSUPPORTED_MEDIA_TYPE, so a cross-site form or `text/plain` post (which a browser sends
 * without a CORS preflight, cookies included) never acts. An empty body needs the type too.
 * A `Content-Encoding` other than `identity` (a gzip or br body) is 415 too: the body is read as is.
 */
export function assertJsonContentType(req: Request, pathname: string): void {
  const raw = req.headers.get('content-type')
  const type = raw === null ? '' : (raw.split(';', 1)[0] ?? '').trim().toLowerCase()
  const got = raw === null ? 'no Content-Type' : `Content-Type ${JSON.stringify(raw.slice(0, 100))}`
  if (!JSON_TYPE.test(type)) {
    throw new LeanflowError(
      'UNSUPPORTED_MEDIA_TYPE',
      `${req.method} ${pathname} takes a JSON body, got ${got}: send Content-Type: application/json (or a +json type), also with an empty body.`,
    )
  }
  // a compressed body would be read as its bytes: refused, as RFC 9110 says, not stored as garbage
  const coding = req.headers.get('content-encoding')
  if (coding !== null && !/^\s*(identity\s*)?$/i.test(coding)) {
    throw new LeanflowError(
      'UNSUPPORTED_MEDIA_TYPE',
      `${req.method} ${pathname} takes an uncompressed body, got Content-Encoding ${JSON.stringify(coding.slice(0, 100))}: send it without compression (and without Content-Encoding).`,
    )
  }
  const charset = raw?.match(CHARSET)?.[1]?.toLowerCase()
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    throw new LeanflowError(
      'UNSUPPORTED_MEDIA_TYPE',
      `${req.method} ${pathname} takes JSON in UTF-8, got ${got}: send the body as UTF-8 (Content-Type: application/json; charset=utf-8).`,
    )
  }
}
