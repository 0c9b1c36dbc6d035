// Trigger signatures, the signing side: signTrigger makes the `leanflow-signature` header value
// (WebCrypto, so it runs in browsers and edge runtimes too). The checking side is
// internal/verifySignature.ts.
import { LeanflowError } from '@leanflow/core'

const encoder = new TextEncoder()

async function hmacKey(secret: string, usage: 'sign' | 'verify'): Promise<CryptoKey> {
  return crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, [usage])
}

const bad = (message: string) => new LeanflowError('INVALID_ARGUMENT', message)

/** The smallest `t` taken for milliseconds: 10^11 s is the year 5138, 10^11 ms is 1973. */
const MS_LIKE = 100_000_000_000

/** What a wrong argument was, for a message: its type (never the value: a secret must not be echoed). */
const shown = (value: unknown) =>
  value === null
    ? 'null'
    : Array.isArray(value)
      ? 'an array'
      : typeof value === 'object'
        ? `a ${value.constructor?.name ?? 'object'}`
        : typeof value

/** The signed message: `"<t>.<raw body>"` as bytes. */
export function signedPayload(t: number, body: string | Uint8Array): Uint8Array {
  const head = encoder.encode(`${t}.`)
  const raw = typeof body === 'string' ? encoder.encode(body) : body
  const out = new Uint8Array(head.byteLength + raw.byteLength)
  out.set(head, 0)
  out.set(raw, head.byteLength)
  return out
}

function toHex(buf: ArrayBuffer): string {
  let s = ''
  for (const b of new Uint8Array(buf)) s += b.toString(16).padStart(2, '0')
  return s
}

/**
 * Makes the `leanflow-signature` header value for a trigger call:
 * `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`. Uses WebCrypto,
 * so it runs in Node, browsers and edge runtimes. Sign the exact bytes you send.
 *
 * @param secret - the handler's `triggerSecret`
 * @param body - the raw request body, exactly as sent
 * @param t - unix time in seconds @default now
 * @example
 * ```ts
 * const body = JSON.stringify({ approved: true })
 * await fetch(`${base}/flows/triggers/${triggerId}`, {
 *   method: 'POST', body,
 *   headers: { 'content-type': 'application/json', 'leanflow-signature': await signTrigger(secret, body) },
 * })
 * ```
 */
export async function signTrigger(secret: string, body: string | Uint8Array, t = Math.floor(Date.now() / 1000)): Promise<string> {
  if (typeof secret !== 'string' || secret === '')
    throw bad(`signTrigger needs a non-empty secret string, got ${shown(secret)}: pass the handler's triggerSecret.`)
  // anything else (an object not yet stringified, an ArrayBuffer) would sign other bytes than the ones sent
  if (typeof body !== 'string' && !(body instanceof Uint8Array))
    throw bad(
      `signTrigger signs the raw body, a string or a Uint8Array, got ${shown(body)}: sign JSON.stringify(payload) and send that same string.`,
    )
  if (!Number.isSafeInteger(t) || t < 0) throw bad(`signTrigger: t must be unix seconds (a non-negative integer), got ${String(t)}.`)
  // past the year 5138: milliseconds (Date.now()), a header every server refuses as 300 s off
  if (t >= MS_LIKE)
    throw bad(
      `signTrigger: t must be unix seconds, got ${t}, which reads as milliseconds: pass Math.floor(Date.now() / 1000), or leave it out.`,
    )
  const key = await hmacKey(secret, 'sign')
  const mac = await crypto.subtle.sign('HMAC', key, signedPayload(t, body) as Uint8Array<ArrayBuffer>)
  return `t=${t},v1=${toHex(mac)}`
}
