import { createServer, type Server, type Socket } from 'node:net'
import { InvalidNameError, isLeanflowError, type LeanflowError } from '@leanflow/core'
import { Redis, ReplyError } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { watchEndpoint, withStoreErrors } from './storeErrors.js'

// The errors are ioredis's own, produced by real clients: refused (nothing listens), closed,
// and timed out (a server that accepts and never answers). Redis's OOM reply is proven
// against a real redis-server in test/faults/redisMaxmemory.test.ts.
let silent: Server
const sockets = new Set<Socket>()
let silentPort = 0
let refusedPort = 0
beforeAll(async () => {
  silent = createServer((socket) => sockets.add(socket)) // accepts, never answers
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r))
  silentPort = (silent.address() as { port: number }).port
  const probe = createServer()
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r))
  refusedPort = (probe.address() as { port: number }).port
  await new Promise<void>((r) => probe.close(() => r()))
})
afterAll(async () => {
  for (const socket of sockets) socket.destroy()
  await new Promise<void>((r) => silent.close(() => r()))
})

async function rejection(p: Promise<unknown>): Promise<LeanflowError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  )
  if (!isLeanflowError(err)) throw new Error(`expected a LeanflowError, got ${String(err)}`)
  return err
}

describe('withStoreErrors', () => {
  it('maps ioredis errors of a refused, a closed and a silent server to STORE_UNAVAILABLE with the cause', async () => {
    const refused = new Redis(refusedPort, { maxRetriesPerRequest: 0, retryStrategy: () => 50, lazyConnect: true })
    refused.on('error', () => {})
    const closed = new Redis(refusedPort, { lazyConnect: true })
    closed.disconnect()
    const timedOut = new Redis(silentPort, { commandTimeout: 100, maxRetriesPerRequest: 0 })
    timedOut.on('error', () => {})
    try {
      const store = withStoreErrors({
        getA: () => refused.get('a'),
        getB: async () => closed.get('b'),
        getC: (key: string) => timedOut.get(key),
      })
      for (const [call, driver] of [
        [() => store.getA(), 'MaxRetriesPerRequestError'],
        [() => store.getB(), 'Connection is closed'],
        [() => store.getC('k1'), 'Command timed out'],
      ] as const) {
        const err = await rejection(call())
        expect(err.code).toBe('STORE_UNAVAILABLE')
        expect(err.cause).toBeInstanceOf(Error)
        expect(`${(err.cause as Error).name} ${(err.cause as Error).message}`).toContain(driver)
      }
      expect((await rejection(store.getC('k1'))).message).toMatch(/^getC\("k1"\) failed: the store could not be reached in time/)
    } finally {
      refused.disconnect()
      timedOut.disconnect()
    }
  })

  it('a watched client that cannot connect: STORE_UNAVAILABLE names its url (no password) and its last connection error; not once it is ready', async () => {
    const url = `redis://user:secret@127.0.0.1:${refusedPort}`
    const refused = new Redis(url, { commandTimeout: 300, retryStrategy: () => 50 })
    watchEndpoint(refused, url)
    const silentUrl = `redis://127.0.0.1:${silentPort}`
    const timedOut = new Redis(silentUrl, { commandTimeout: 100, maxRetriesPerRequest: 0 })
    watchEndpoint(timedOut, silentUrl)
    try {
      const store = withStoreErrors({ getA: () => refused.get('a') }, undefined, refused)
      const err = await rejection(store.getA())
      expect(err.code).toBe('STORE_UNAVAILABLE')
      expect(err.message).toContain(
        `Redis at redis://user:***@127.0.0.1:${refusedPort} is not reached: connect ECONNREFUSED 127.0.0.1:${refusedPort}`,
      )
      expect(err.message).not.toContain('secret')
      // connected, yet no answer: no connection error to tell
      const silentStore = withStoreErrors({ getC: () => timedOut.get('c') }, undefined, timedOut)
      const quiet = await rejection(silentStore.getC())
      expect(quiet.code).toBe('STORE_UNAVAILABLE')
      expect(quiet.message).not.toContain('is not reached')
    } finally {
      refused.disconnect()
      timedOut.disconnect()
    }
  })

  it('maps a Redis OOM reply to STORE_FULL and other replies to INTERNAL', async () => {
    const oom = new ReplyError("OOM command not allowed when used memory > 'maxmemory'.")
    const wrongType = new ReplyError('WRONGTYPE Operation against a key holding the wrong kind of value')
    const store = withStoreErrors({ full: async () => Promise.reject(oom), odd: async () => Promise.reject(wrongType) })
    const full = await rejection(store.full())
    expect([full.code, full.cause]).toEqual(['STORE_FULL', oom])
    const odd = await rejection(store.odd())
    expect([odd.code, odd.cause]).toEqual(['INTERNAL', wrongType])
  })

  it('passes LeanflowErrors, results and sync throws of LeanflowErrors through unchanged', async () => {
    const invalid = new InvalidNameError('Run id "a:b" is invalid.')
    const store = withStoreErrors({
      ok: async (x: number) => x + 1,
      sync: () => 'plain',
      refuse: async () => {
        throw invalid
      },
      check: (runId: string) => {
        throw new InvalidNameError(`Run id "${runId}" is invalid.`)
      },
    })
    expect(await store.ok(1)).toBe(2)
    expect(store.sync()).toBe('plain')
    expect(await store.refuse().catch((e: unknown) => e)).toBe(invalid)
    expect(() => store.check('a:b')).toThrow(InvalidNameError)
  })

  it("maps the errors of an async iterable's iterator (follow) and keeps its values and return()", async () => {
    let returned = false
    const source = (fail: boolean): AsyncIterable<number> => ({
      [Symbol.asyncIterator]: () => {
        let i = 0
        return {
          next: async () => {
            if (i === 2 && fail) throw new Error('Connection is closed.')
            return { done: false, value: i++ }
          },
          return: async () => {
            returned = true
            return { done: true, value: undefined }
          },
        }
      },
    })
    const store = withStoreErrors({ follow: (_runId: string, fail: boolean) => source(fail) })
    const seen: unknown[] = []
    const err = await (async () => {
      for await (const v of store.follow('r1', true)) seen.push(v)
    })().catch((e: unknown) => e)
    expect(seen).toEqual([0, 1])
    expect(isLeanflowError(err, 'STORE_UNAVAILABLE')).toBe(true)
    expect((err as Error).message).toContain('follow("r1")')
    for await (const v of store.follow('r1', false)) if (v === 1) break
    expect(returned).toBe(true)
  })

  it('keeps getters and values, and wraps a method once however often it is applied', async () => {
    let n = 0
    const inner = withStoreErrors({ get: async () => Promise.reject(new Error('Command timed out')) })
    const outer = withStoreErrors({
      ...inner,
      get count() {
        return ++n
      },
      name: 'x',
    })
    expect(outer.get).toBe(inner.get)
    expect([outer.count, outer.count, outer.name]).toEqual([1, 2, 'x'])
    const err = await rejection(outer.get())
    expect(err.cause).toBeInstanceOf(Error) // one wrapping: the cause is the driver's error, not a LeanflowError
    expect(isLeanflowError(err.cause)).toBe(false)
  })
})
