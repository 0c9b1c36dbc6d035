import { createHmac } from 'node:crypto'
import { describe, expect, it, vi } from 'vitest'
import { verifySignature } from './internal/verifySignature.js'
import { signTrigger } from './signTrigger.js'

describe('signTrigger', () => {
  it('is t=<s>,v1=<hex HMAC-SHA256 of "<t>.<body>">', async () => {
    const body = '{"ok":true,"é":1}'
    const expected = createHmac('sha256', 'sekret').update(`1700000000.${body}`).digest('hex')
    expect(await signTrigger('sekret', body, 1700000000)).toBe(`t=1700000000,v1=${expected}`)
    expect(await signTrigger('sekret', new TextEncoder().encode(body), 1700000000)).toBe(`t=1700000000,v1=${expected}`)
  })

  it('refuses an empty secret, a body that is no string or Uint8Array, or a bad time with INVALID_ARGUMENT', async () => {
    await expect(signTrigger('', 'x')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/secret/) })
    await expect(signTrigger(undefined as never, 'x')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
    await expect(signTrigger('s', 'x', -1)).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringMatching(/unix seconds/),
    })
    // Date.now() is milliseconds: every server would refuse that header as 300 s off (401)
    await expect(signTrigger('s', 'x', Date.now())).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringMatching(/milliseconds.*Math\.floor\(Date\.now\(\) \/ 1000\)/),
    })
    await expect(signTrigger('s', 'x', 99_999_999_999)).resolves.toMatch(/^t=99999999999,v1=/)
    // a payload not stringified, or an ArrayBuffer, would be signed as other bytes than the ones sent
    for (const body of [{ approved: true }, new ArrayBuffer(3), null, 42]) {
      await expect(signTrigger('s', body as never), String(body)).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
        message: expect.stringMatching(/a string or a Uint8Array.*JSON\.stringify/),
      })
    }
  })
})

describe('verifySignature', () => {
  const body = new TextEncoder().encode('{"a":1}')
  it('accepts a good signature within 300 s and any of several secrets', async () => {
    const header = await signTrigger('s2', body, 1000)
    await expect(verifySignature(['s1', 's2'], header, body, 1300)).resolves.toBeUndefined()
    await expect(verifySignature(['s1', 's2'], header, body, 700)).resolves.toBeUndefined()
  })
  it('computes the body HMAC once per secret, however many v1 values a header holds (the right one among 200 fakes passes)', async () => {
    const good = (await signTrigger('s2', body, 1000)).split(',')[1] as string
    const fakes = Array.from({ length: 200 }, (_, i) => `v1=${i.toString(16).padStart(64, '0')}`)
    const header = ['t=1000', ...fakes, good].join(',')
    const hmacs = vi.spyOn(crypto.subtle, 'sign')
    const verifies = vi.spyOn(crypto.subtle, 'verify')
    try {
      await expect(verifySignature(['s1', 's2'], header, body, 1000)).resolves.toBeUndefined()
      await expect(verifySignature(['s1', 's3'], header, body, 1000)).rejects.toMatchObject({ code: 'UNAUTHORIZED' })
      expect(hmacs.mock.calls.length + verifies.mock.calls.length).toBe(4)
    } finally {
      hmacs.mockRestore()
      verifies.mockRestore()
    }
  })
  it('refuses stale, missing, malformed and wrong ones with UNAUTHORIZED', async () => {
    const header = await signTrigger('s1', body, 1000)
    for (const [h, now] of [
      [header, 1301],
      [header, 699],
      [null, 1000],
      ['', 1000],
      ['t=1000', 1000],
      ['v1=00', 1000],
      [header.replace(/.$/, (c) => (c === '0' ? '1' : '0')), 1000],
    ] as const) {
      await expect(verifySignature(['s1'], h, body, now)).rejects.toMatchObject({ code: 'UNAUTHORIZED' })
    }
  })
})
