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

/** `new URL(path, origin)` of a Node request, or 400 INVALID_ARGUMENT naming its Host header. */
export function nodeRequestUrl(path: string, scheme: string, host: string): URL {
  try {
    return new URL(path, `${scheme}://${host}`)
  } catch {
    throw badUrl('Host header', host)
  }
}
