// Trigger signatures, the checking side: verifySignature checks `leanflow-signature` against the
// raw body before it is parsed. The signing side is signTrigger.ts.
import { LeanflowError } from '@leanflow/core'
import { signedPayload } from '../signTrigger.js'

/** Seconds a signature's `t` may differ from the server's clock. */
export const SIGNATURE_TOLERANCE_S = 300

const encoder = new TextEncoder()

function unauthorized(message: string): LeanflowError {
  return new LeanflowError('UNAUTHORIZED', message)
}

function fromHex(hex: string): Uint8Array<ArrayBuffer> | undefined {
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) return undefined
  const out = new Uint8Array(32)
  for (let i = 0; i < 32; i++) out[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16)
  return out
}

/**
 * Checks a `leanflow-signature` header against the raw body; throws UNAUTHORIZED (401)
 * when missing, malformed, stale (more than 300 s off) or wrong. The body's HMAC is computed
 * once per secret (WebCrypto) and compared with each `v1` in constant time.
 */
export async function verifySignature(
  secrets: readonly string[],
  header: string | null,
  body: Uint8Array,
  nowS = Math.floor(Date.now() / 1000),
): Promise<void> {
  if (header === null || header.trim() === '') {
    throw unauthorized('Missing leanflow-signature header: sign the raw body with signTrigger(secret, body).')
  }
  let t: number | undefined
  const macs: Uint8Array<ArrayBuffer>[] = []
  for (const part of header.split(',')) {
    const eq = part.indexOf('=')
    const k = part.slice(0, eq).trim()
    const v = part.slice(eq + 1).trim()
    if (k === 't' && /^\d{1,12}$/.test(v)) t = Number(v)
    else if (k === 'v1') {
      const mac = fromHex(v)
      if (mac) macs.push(mac)
    }
  }
  if (t === undefined || macs.length === 0) {
    throw unauthorized('Malformed leanflow-signature header: expected "t=<unix seconds>,v1=<hex HMAC-SHA256>" (use signTrigger).')
  }
  if (Math.abs(nowS - t) > SIGNATURE_TOLERANCE_S) {
    throw unauthorized(
      `Stale leanflow-signature: t=${t} is more than ${SIGNATURE_TOLERANCE_S} s from the server clock; sign each request when sending it.`,
    )
  }
  const payload = signedPayload(t, body) as Uint8Array<ArrayBuffer>
  // one HMAC per secret, compared with every v1 in constant time: a header of many v1 values
  // costs no more HMACs of the (up to 1 MiB) body than one
  for (const secret of secrets) {
    const key = await crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
    const expected = new Uint8Array(await crypto.subtle.sign('HMAC', key, payload))
    if (macs.some((mac) => sameBytes(mac, expected))) return
  }
  throw unauthorized('Bad leanflow-signature: the HMAC does not match the body; sign the exact raw body with the shared secret.')
}

/** Two 32-byte MACs equal, compared in constant time (every byte looked at, whatever differs). */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= (a[i] as number) ^ (b[i] as number)
  return diff === 0
}
