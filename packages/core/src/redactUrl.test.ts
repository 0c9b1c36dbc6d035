import { describe, expect, it } from 'vitest'
import { redactUrl } from './redactUrl.js'

describe('redactUrl', () => {
  it('hides a URL password, whatever it holds, and keeps the rest', () => {
    expect(redactUrl('redis://user:s3cret@10.0.0.5:6379/2')).toBe('redis://user:***@10.0.0.5:6379/2')
    // ioredis reads the password "abc@def": none of it shows
    expect(redactUrl('redis://:abc@def@127.0.0.1:1')).toBe('redis://:***@127.0.0.1:1')
    expect(redactUrl('rediss://127.0.0.1:6380')).toBe('rediss://127.0.0.1:6380')
  })

  it('hides user and password of a string that is no URL', () => {
    expect(redactUrl('redis//user:s3cret@127.0.0.1:6379')).toBe('redis//***@127.0.0.1:6379')
    expect(redactUrl('user:s3cret@127.0.0.1:6379')).toBe('***@127.0.0.1:6379')
    expect(redactUrl('redis://[::1')).toBe('redis://[::1')
    expect(redactUrl('redis://u:p@[::1')).toBe('redis://***@[::1')
  })
})
