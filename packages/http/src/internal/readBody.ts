import { hasNonFiniteNumber, MAX_JSON_DEPTH, PayloadTooLargeError } from '@leanflow/core'
import { concatBytes } from './bytes.js'
import { invalidArgument } from './respond.js'

/** The option a 413 for a request body tells the caller to raise. */
const BODY_LIMIT_OPTION = "createHandler's maxBodyBytes"

/**
 * Reads a request body as bytes, refusing it (413) as soon as it passes `limit`:
 * a `content-length` over the limit is refused before reading anything, and the
 * stream is counted while read and canceled past the limit. A body whose stream fails (the
 * client left mid-body) is 400 INVALID_ARGUMENT, not an unexpected error.
 */
export async function readBody(req: Request, limit: number): Promise<Uint8Array> {
  const declared = req.headers.get('content-length')
  if (declared !== null) {
    const n = Number(declared)
    if (Number.isFinite(n) && n > limit) {
      // not a byte is read; the server decides what to do with the unread rest
      // (the Node adapter answers with `connection: close`)
      throw new PayloadTooLargeError(n, limit, 'request body', BODY_LIMIT_OPTION)
    }
  }
  if (req.body === null) return new Uint8Array(0)
  const reader = req.body.getReader()
  const chunks: Uint8Array[] = []
  let total = 0
  for (;;) {
    let chunk: ReadableStreamReadResult<Uint8Array>
    try {
      chunk = await reader.read()
    } catch (err) {
      // the client went away mid-body (or the server cut it: requestTimeout): not a server fault
      throw invalidArgument(
        `The request body could not be read to its end (${err instanceof Error ? err.message : String(err)}): send the whole body on one connection.`,
      )
    }
    const { done, value } = chunk
    if (done) break
    total += value.byteLength
    if (total > limit) {
      await reader.cancel().catch(() => {})
      throw new PayloadTooLargeError(total, limit, 'request body (so far)', BODY_LIMIT_OPTION)
    }
    chunks.push(value)
  }
  return concatBytes(chunks)
}

const decoder = new TextDecoder('utf-8', { fatal: true })

/**
 * Parses a body as JSON; an empty body is `undefined`. Malformed UTF-8 or JSON, or nesting deeper
 * than `MAX_JSON_DEPTH` + `wrap`, throws INVALID_ARGUMENT (400). `wrap` is how many levels the route
 * puts around the value it stores (1 for `{ kind, data }`): the value itself may nest as deep as
 * the runner takes from a process (which checks it again). `__proto__` keys stay plain own properties.
 */
export function parseJsonBody(bytes: Uint8Array, wrap = 0): unknown {
  if (bytes.byteLength === 0) return undefined
  let text: string
  try {
    text = decoder.decode(bytes)
  } catch {
    throw invalidArgument('The request body is not valid UTF-8: send JSON encoded as UTF-8.')
  }
  if (text.trim() === '') return undefined
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (err) {
    throw invalidArgument(`The request body is not valid JSON (${(err as Error).message}): send a JSON document.`)
  }
  const { depth, large } = scanJson(text)
  if (depth > MAX_JSON_DEPTH + wrap) {
    throw invalidArgument(
      `The request body nests arrays and objects ${depth} levels deep, over the limit of ${MAX_JSON_DEPTH + wrap}: send flatter JSON.`,
    )
  }
  if (large && hasNonFiniteNumber(value)) {
    throw invalidArgument(
      'The request body has a number too large for a double (such as 1e400): it would be stored as null. Send it as a string.',
    )
  }
  return value
}

/**
 * Nesting depth of a valid JSON text, counted without recursion (brackets inside strings
 * skipped), and whether it may hold a number too large for a double (an exponent, or 309 digits
 * in a row, outside strings): only then is the parsed value walked.
 */
function scanJson(text: string): { depth: number; large: boolean } {
  let depth = 0
  let max = 0
  let inString = false
  let large = false
  let digits = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 92)
        i++ // backslash: skip the escaped character
      else if (c === 34) inString = false
      continue
    }
    if (c >= 48 && c <= 57) {
      if (++digits >= 309) large = true
      continue
    }
    // e or E right after a digit (or the dot of 1.e5): an exponent; `true` and `false` have no digit before it
    if ((c === 101 || c === 69) && (digits > 0 || text.charCodeAt(i - 1) === 46)) large = true
    digits = 0
    if (c === 34) inString = true
    else if (c === 91 || c === 123) max = Math.max(max, ++depth)
    else if (c === 93 || c === 125) depth--
  }
  return { depth: max, large }
}
