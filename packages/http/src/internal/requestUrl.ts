// The URL of a request, parsed with a typed error: a request whose URL cannot be parsed (a
// malformed Host header such as `a b` or `localhost:99999`) is the client's fault, 400, never 500.
import { LeanflowError } from '@leanflow/core'

/** The error of a request URL that does not parse: 400 INVALID_ARGUMENT naming the value. */
function badUrl(what: string, value: string): LeanflowError {
  return new LeanflowError(
    'INVALID_ARGUMENT',
    `The request ${what} ${JSON.stringify(value.slice(0, 200))} does not make a valid URL: send a Host header of a host name or address and an optional port (1-65535), such as "api.example.com:3000".`,
  )
}

/** `new URL(req.url)`, or 400 INVALID_ARGUMENT (a request object of a framework may carry any string). */
export function requestUrl(req: Request): URL {
  try {
    return new URL(req.url)
  } catch {
    throw badUrl('URL', String(req.url))
  }
}

/**
 * The URL of a Node request: its target (`req.url`) on `scheme://host`, or 400 INVALID_ARGUMENT
 * naming its Host header. A path stays the path it is: `//other/flows/…` is the path
 * `//other/flows/…` (no route), never the URL of host `other` with path `/flows/…`, as Express and
 * Hono read it too.
 */
export function nodeRequestUrl(path: string, scheme: string, host: string): URL {
  const origin = `${scheme}://${host}`
  let url: URL
  try {
    url = new URL(origin)
  } catch {
    throw badUrl('Host header', host)
  }
  try {
    return path.startsWith('/') ? new URL(`${url.origin}${path}`) : new URL(path, url)
  } catch {
    throw badUrl('Host header', host)
  }
}
