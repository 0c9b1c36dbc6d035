import { MAX_JSON_DEPTH } from '@leanflow/core'
import { describe, expect, it } from 'vitest'
import { parseJsonBody, readBody } from './readBody.js'

const bytes = (s: string) => new TextEncoder().encode(s)
const code = (f: () => unknown) => {
  try {
    f()
  } catch (err) {
    return (err as { code?: string }).code
  }
  return 'no error'
}

describe('parseJsonBody', () => {
  it('parses JSON; empty or blank is undefined; bad UTF-8 or JSON is INVALID_ARGUMENT', () => {
    expect(parseJsonBody(bytes('{"a":[1,{"b":null}]}'))).toEqual({ a: [1, { b: null }] })
    expect(parseJsonBody(bytes(''))).toBeUndefined()
    expect(parseJsonBody(bytes('  \n'))).toBeUndefined()
    expect(code(() => parseJsonBody(bytes('{bad')))).toBe('INVALID_ARGUMENT')
    expect(code(() => parseJsonBody(new Uint8Array([0x7b, 0xff, 0x7d])))).toBe('INVALID_ARGUMENT')
  })

  it(`accepts nesting up to ${MAX_JSON_DEPTH} levels and refuses deeper JSON (it would overflow the stack when stored)`, () => {
    const nest = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`
    expect(Array.isArray(parseJsonBody(bytes(nest(MAX_JSON_DEPTH))))).toBe(true)
    expect(code(() => parseJsonBody(bytes(nest(MAX_JSON_DEPTH + 1))))).toBe('INVALID_ARGUMENT')
    expect(code(() => parseJsonBody(bytes(nest(100_000))))).toBe('INVALID_ARGUMENT')
    const objects = `${'{"a":'.repeat(MAX_JSON_DEPTH + 1)}1${'}'.repeat(MAX_JSON_DEPTH + 1)}`
    expect(code(() => parseJsonBody(bytes(objects)))).toBe('INVALID_ARGUMENT')
  })

  it('a number too large for a double (stored as null otherwise) is INVALID_ARGUMENT; large finite ones and look-alikes in strings pass', () => {
    for (const text of ['1e400', '-1E309', '{"kind":"k","data":{"x":[1,2.5e999]}}', `[${'9'.repeat(400)}]`]) {
      expect(
        code(() => parseJsonBody(bytes(text))),
        text,
      ).toBe('INVALID_ARGUMENT')
    }
    expect(() => parseJsonBody(bytes('1e400'))).toThrow(/too large for a double .*Send it as a string/)
    for (const text of ['1e308', '-2.5E-400', `"1e400"`, '{"e":true,"f":false,"1e999":1}', `[${'9'.repeat(300)}]`, '[true,1e3]']) {
      expect(parseJsonBody(bytes(text)), text).toEqual(JSON.parse(text))
    }
  })

  it('a flat array of 200,000 numbers with exponents (800 KB) is walked, not spread: parsed, or INVALID_ARGUMENT for an infinite one', () => {
    // spreading it into one push overflowed the call stack: a 500 for a valid body under 1 MiB
    const items = Array.from({ length: 200_000 }, () => '1e-3')
    expect(parseJsonBody(bytes(`[${items}]`))).toHaveLength(200_000)
    expect(code(() => parseJsonBody(bytes(`{"a":[${items},1e400]}`)))).toBe('INVALID_ARGUMENT')
  })

  it('brackets inside strings (escaped quotes included) do not count as nesting', () => {
    const text = JSON.stringify({ s: `${'['.repeat(2000)}\\"{{{"${'{'.repeat(2000)}` })
    expect(parseJsonBody(bytes(text))).toEqual(JSON.parse(text))
  })
})

describe('readBody', () => {
  /** The message `readBody` refuses `req` with. */
  const refusal = (req: Request) =>
    readBody(req, 10).then(
      () => 'read',
      (err: Error) => err.message,
    )

  it('a body over the limit is PAYLOAD_TOO_LARGE naming the option to raise, declared or counted', async () => {
    const post = (body: BodyInit, headers: Record<string, string> = {}) =>
      new Request('http://x/', { method: 'POST', body, headers, duplex: 'half' } as RequestInit)
    expect(await refusal(post('x'.repeat(11), { 'content-length': '11' }))).toMatch(
      /request body is 11 bytes, .* raise createHandler's maxBodyBytes\.$/,
    )
    const chunked = new ReadableStream({
      start(c) {
        c.enqueue(bytes('x'.repeat(8)))
        c.enqueue(bytes('x'.repeat(8)))
        c.close()
      },
    })
    expect(await refusal(post(chunked))).toMatch(/request body \(so far\) is 16 bytes, .* raise createHandler's maxBodyBytes\.$/)
  })
})
