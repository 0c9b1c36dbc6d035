import { describe, expect, it } from 'vitest'
import { keySlot } from './slot.js'

describe('keySlot', () => {
  it('matches Redis CLUSTER KEYSLOT', () => {
    // values from redis-cli CLUSTER KEYSLOT on Redis 7.0
    expect(keySlot('123456789')).toBe(12739)
    expect(keySlot('foo')).toBe(12182)
    expect(keySlot('lf:{r1}:live')).toBe(2121)
    expect(keySlot('r1')).toBe(2121)
    expect(keySlot('lf:{r1}:live')).toBe(keySlot('lf:{r1}:events'))
    expect(keySlot('a{}b')).toBe(13694) // an empty tag: the whole name
    expect(keySlot('{}x')).toBe(10595)
    expect(keySlot('x')).toBe(16287)
    expect(keySlot('x{é}y')).toBe(10180) // UTF-8 bytes
  })
})
