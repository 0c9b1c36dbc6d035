/**
 * BullMQ refuses custom job ids that contain `:` or look like integers. A
 * leanflow job id is any non-empty string, so it is stored as `j` + the id
 * with `%`, `:`, `{` and `}` percent-encoded: the leading letter makes it
 * never integer-like, the escapes keep it free of `:` (and of hash-tag
 * braces on Redis Cluster), and decoding gives back the exact id.
 */
const PREFIX = 'j'
const ESCAPE = /[%:{}]/g
const UNESCAPE = /%(25|3A|7B|7D)/g
const DECODED: Record<string, string> = { '25': '%', '3A': ':', '7B': '{', '7D': '}' }

/** Encodes a leanflow job id into a BullMQ-safe custom id. */
export function encodeJobId(id: string): string {
  return PREFIX + id.replace(ESCAPE, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
}

/** Decodes an id made by {@link encodeJobId}; throws on anything else. */
export function decodeJobId(encoded: string): string {
  if (!encoded.startsWith(PREFIX)) throw new Error(`Not a leanflow job id: ${JSON.stringify(encoded)}`)
  return encoded.slice(PREFIX.length).replace(UNESCAPE, (_, hex: string) => DECODED[hex] ?? '')
}
