/** Number of hash slots of a Redis Cluster. */
export const SLOTS = 16384

const TABLE = (() => {
  const t = new Uint16Array(256)
  for (let i = 0; i < 256; i++) {
    let c = i << 8
    for (let k = 0; k < 8; k++) c = c & 0x8000 ? ((c << 1) ^ 0x1021) & 0xffff : (c << 1) & 0xffff
    t[i] = c
  }
  return t
})()

/**
 * The Cluster hash slot of a key or shard channel, as Redis computes it:
 * CRC16-XMODEM of the hash tag (the text between the first `{` and the next
 * `}`, when not empty) or of the whole name, in UTF-8 bytes, modulo 16384.
 *
 * @example
 * ```ts
 * keySlot('lf:{r1}:live') === keySlot('lf:{r1}:events') // true: one slot per run
 * ```
 */
export function keySlot(name: string): number {
  const bytes = Buffer.from(name, 'utf8')
  let start = 0
  let end = bytes.length
  const open = bytes.indexOf(0x7b) // {
  if (open >= 0) {
    const close = bytes.indexOf(0x7d, open + 1) // }
    if (close > open + 1) {
      start = open + 1
      end = close
    }
  }
  let crc = 0
  for (let i = start; i < end; i++) crc = ((crc << 8) & 0xffff) ^ (TABLE[((crc >> 8) ^ (bytes[i] as number)) & 0xff] as number)
  return crc % SLOTS
}
