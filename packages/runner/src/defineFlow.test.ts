import { isLeanflowError } from '@leanflow/core'
import { describe, expect, it } from 'vitest'
import { defineFlow } from './defineFlow.js'

const h = async () => 1

describe('defineFlow', () => {
  it('returns a frozen definition with name and steps', () => {
    const f = defineFlow({ name: 'order', steps: { a: { handler: h }, b: { needs: ['a'], handler: h } } })
    expect(f.name).toBe('order')
    expect(Object.keys(f.steps)).toEqual(['a', 'b'])
    expect(Object.isFrozen(f)).toBe(true)
    expect(Object.isFrozen(f.steps)).toBe(true)
    expect(f.steps.b?.needs).toEqual(['a'])
  })

  it('refuses a cycle, naming it', () => {
    const err = (() => {
      try {
        defineFlow({
          name: 'c',
          steps: { a: { needs: ['c'], handler: h }, b: { needs: ['a'], handler: h }, c: { needs: ['b'], handler: h } },
        })
      } catch (e) {
        return e
      }
      return undefined
    })()
    expect(isLeanflowError(err, 'INVALID_ARGUMENT')).toBe(true)
    expect((err as Error).message).toMatch(/cycle: a -> c -> b -> a/)
    expect(() => defineFlow({ name: 'self', steps: { a: { needs: ['a'], handler: h } } })).toThrow(/cycle/)
  })

  it('refuses unknown needs, invalid and reserved names, missing handlers', () => {
    expect(() => defineFlow({ name: 'u', steps: { a: { needs: ['ghost'], handler: h } } })).toThrow(/"ghost"/)
    for (const name of ['runs', 'triggers', 'events', 'schedules', 'a:b', '', '-x']) {
      let err: unknown
      try {
        defineFlow({ name, steps: { a: { handler: h } } })
      } catch (e) {
        err = e
      }
      expect(isLeanflowError(err, 'INVALID_NAME')).toBe(true)
    }
    expect(() => defineFlow({ name: 'n', steps: { 'bad step': { handler: h } } })).toThrow(/step name/)
    // an own "__proto__" step (as JSON would have it; a `{ __proto__: … }` literal sets the prototype and has no step)
    const protoStep = Object.defineProperty({}, '__proto__', { value: { handler: h }, enumerable: true })
    expect(Object.keys(protoStep)).toEqual(['__proto__'])
    expect(() => defineFlow({ name: 'n', steps: protoStep as never })).toThrow(
      expect.objectContaining({ code: 'INVALID_NAME', message: expect.stringMatching(/step name.*__proto__|__proto__.*step name/i) }),
    )
    expect(() => defineFlow({ name: 'n', steps: { a: {} as never } })).toThrow(/handler/)
    expect(() => defineFlow({ name: 'n', steps: {} })).toThrow(/no steps/)
    expect(() => defineFlow({ name: 'n', steps: { a: { handler: h, retry: { attempts: 0 } } } })).toThrow(/attempts/)
    expect(() => defineFlow({ name: 'n', steps: { a: { handler: h, timeout: 'soon' } } })).toThrow(/timeout/)
    // 0 is "no timeout" in many libraries; here it failed every attempt that awaited anything
    for (const timeout of [0, '0s', 0.4])
      expect(() => defineFlow({ name: 'n', steps: { a: { handler: h, timeout } } })).toThrow(
        expect.objectContaining({
          code: 'INVALID_ARGUMENT',
          message: expect.stringMatching(/^Invalid timeout of step "a" .*: pass at least 1 ms, or leave it out for no timeout\.$/),
        }),
      )
    defineFlow({ name: 'n', steps: { a: { handler: h, timeout: 1 } } })
    expect(() => defineFlow({ name: 'n', steps: { a: { handler: h } }, result: 'total' as never })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/result must be a function/) }),
    )
  })
  it('names a bad flow-control limit as given and the fix that applies to it', () => {
    const h = async () => 1
    const refusal = (limit: unknown) => {
      try {
        defineFlow({ name: 'n', concurrency: { limit: limit as number }, steps: { a: { handler: h } } })
      } catch (err) {
        expect(isLeanflowError(err, 'INVALID_ARGUMENT')).toBe(true)
        return (err as Error).message
      }
      throw new Error(`limit ${String(limit)} was accepted`)
    }
    // JSON says null for these: the message showed a value the user never passed
    expect(refusal(Number.NaN)).toBe('Invalid limit NaN in concurrency of flow "n": pass a positive integer (at least 1).')
    expect(refusal(Number.POSITIVE_INFINITY)).toMatch(/^Invalid limit Infinity in concurrency of flow "n": /)
    // a whole number above 0 told to be a positive integer: say what is wrong with it
    expect(refusal(2 ** 60)).toBe(
      `Invalid limit ${2 ** 60} in concurrency of flow "n": pass at most ${Number.MAX_SAFE_INTEGER} (Number.MAX_SAFE_INTEGER).`,
    )
    expect(refusal(0)).toBe('Invalid limit 0 in concurrency of flow "n": pass a positive integer (at least 1).')
    // a BigInt threw a raw TypeError (JSON cannot show it), a bare number said "Invalid limit undefined"
    expect(refusal(2n)).toBe('Invalid limit 2n in concurrency of flow "n": pass a positive integer (at least 1).')
    const bare = (config: Record<string, unknown>) => {
      try {
        defineFlow({ name: 'n', steps: { a: { handler: h } }, ...config } as never)
      } catch (err) {
        expect(isLeanflowError(err, 'INVALID_ARGUMENT')).toBe(true)
        return (err as Error).message
      }
      throw new Error('accepted')
    }
    expect(bare({ concurrency: 5 })).toBe('Invalid concurrency of flow "n": 5: pass an object, { limit: 5 }.')
    expect(bare({ rateLimit: { limit: 1, period: -5 } })).toMatch(
      /^Invalid period of rateLimit of flow "n" -5: pass a positive duration \('5s', '1m' or ms above 0\)/,
    )
    expect(bare({ rateLimit: { limit: 1, period: '1s', mode: 2n } })).toMatch(/^Invalid mode 2n in rateLimit/)
  })

  it('refuses a misspelt option of a flow, a step, a retry policy or its backoff, naming it (plain JavaScript ignored them: `need` ran the step at once)', () => {
    const message = (config: unknown) => {
      try {
        defineFlow(config as never)
      } catch (e) {
        expect(isLeanflowError(e, 'INVALID_ARGUMENT')).toBe(true)
        return (e as Error).message
      }
      return 'defined'
    }
    expect(message({ name: 'o', steps: { a: { handler: h }, b: { need: ['a'], handler: h } } })).toBe(
      'Step "b" of flow "o" has an unknown option "need": pass only handler, needs, retry, timeout, concurrency.',
    )
    expect(message({ name: 'o', concurency: { limit: 1 }, steps: { a: { handler: h } } })).toMatch(
      /^Flow "o" has an unknown option "concurency": pass only name, version, input, steps, result, schedules, concurrency, rateLimit, debounce, singleton\.$/,
    )
    expect(message({ name: 'o', steps: { a: { retry: { atempts: 3 }, handler: h } } })).toBe(
      'Step "a" of flow "o": The retry policy has an unknown option "atempts": pass only attempts, backoff, jitter.',
    )
    expect(message({ name: 'o', steps: { a: { retry: { backoff: { delay: 5 } }, handler: h } } })).toBe(
      'Step "a" of flow "o": The retry backoff has an unknown option "delay": pass only type, delayMs, maxDelayMs.',
    )
    // flow control's options too: a misspelt key made one limit for every input, a misspelt mode the default
    const key = () => 'k'
    const fc: Array<[Record<string, unknown>, string]> = [
      [{ concurrency: { limit: 1, kye: key } }, 'The concurrency of flow "o" has an unknown option "kye": pass only limit, key.'],
      [{ concurrency: [{ limit: 1 }, { limit: 2, kye: key }] }, 'The concurrency[1] of flow "o" has an unknown option "kye"'],
      [
        { rateLimit: { limit: 1, period: '1s', mod: 'drop' } },
        'The rateLimit of flow "o" has an unknown option "mod": pass only limit, period, key, mode.',
      ],
      [{ singleton: { mdoe: 'cancel' } }, 'The singleton of flow "o" has an unknown option "mdoe": pass only key, mode.'],
      [
        { debounce: { period: '1s', maxwait: '5s' } },
        'The debounce of flow "o" has an unknown option "maxwait": pass only period, maxWait, key.',
      ],
      [{ concurrency: [] }, 'Invalid concurrency [] of flow "o": pass { limit, key? }, an array of them, or leave it out.'],
      [{ rateLimit: null }, 'Invalid rateLimit of flow "o": pass { limit, period, key?, mode? }.'],
    ]
    for (const [options, refusal] of fc) expect(message({ name: 'o', ...options, steps: { a: { handler: h } } })).toContain(refusal)
    expect(message({ name: 'o', steps: { a: { concurrency: { limit: 1, kye: key }, handler: h } } })).toBe(
      'The concurrency of step "a" of flow "o" has an unknown option "kye": pass only limit, key.',
    )
    // every known option, and a flow made from another flow's definition, are taken
    const full = defineFlow({
      name: 'full',
      version: 2,
      concurrency: { limit: 2 },
      result: (r) => r,
      steps: {
        a: {
          handler: h,
          needs: [],
          retry: { attempts: 2, backoff: { type: 'fixed', delayMs: 1, maxDelayMs: 2 }, jitter: 0 },
          timeout: '1s',
        },
      },
    })
    expect(message({ ...full })).toBe('defined')
  })
})
