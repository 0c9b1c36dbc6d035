// F15: a 1 MB payload is stored and replayed byte-exact; over the limit: a typed error before anything is written.
// A follower of a run of large events reads its backlog a few MiB at a time, and one whose
// consumer stops taking live large events holds a few MiB of them (F14 on the store).

import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { isLeanflowError, PayloadTooLargeError } from '@leanflow/core'
import { createRedisStreamStore, type RedisStreamStore } from '@leanflow/redis'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { useRedisServer } from '../helpers/redisServer.js'

const server = useRedisServer({ client: true })
let store: RedisStreamStore

beforeAll(async () => {
  store = createRedisStreamStore({ url: server.url, prefix: 'f15' })
})
afterAll(async () => {
  await store.close()
})

describe('F15: large payloads', () => {
  it('stores 1 MB with multi-byte characters and replays it byte-exact through read and follow', async () => {
    let text = ''
    for (let i = 0; text.length < 500_000; i++) text += i % 101 === 0 ? '€🚀"\\\n\u0000' : String.fromCharCode(32 + (i % 90))
    const blob = { text: text.slice(0, 500_000), bytes: Buffer.from(text.slice(0, 100_000), 'utf8').toString('base64') }
    const rec = await store.append('big', { kind: 'blob', flow: 'big', data: blob })
    const [back] = await store.read('big')
    let followed: unknown
    for await (const e of store.follow('big')) {
      followed = e.data
      break
    }
    const expected = Buffer.from(JSON.stringify(blob))
    for (const d of [rec.data, back!.data, followed]) expect(Buffer.from(JSON.stringify(d)).equals(expected)).toBe(true)
    expect(Buffer.byteLength(JSON.stringify(blob))).toBeGreaterThan(700_000)
  })

  it('measures UTF-8 bytes: 600,000 two-byte characters are over 1 MiB though 600,000 UTF-16 units are not; nothing is written', async () => {
    const sub = new Redis(server.url)
    const heard: string[] = []
    sub.on('message', (_c: string, m: string) => heard.push(m))
    await sub.subscribe(store.keys.live('toolarge'))
    const err = await store.append('toolarge', { kind: 'blob', flow: 'toolarge', data: 'é'.repeat(600_000) }).catch((e: unknown) => e)
    expect(isLeanflowError(err, 'PAYLOAD_TOO_LARGE')).toBe(true)
    expect((err as PayloadTooLargeError).bytes).toBeGreaterThan(1_200_000)
    expect((err as PayloadTooLargeError).limit).toBe(1024 * 1024)
    expect(err).toBeInstanceOf(PayloadTooLargeError)
    const ok = await store.append('fits', { kind: 'blob', flow: 'fits', data: 'e'.repeat(1_000_000) })
    expect((ok.data as string).length).toBe(1_000_000)
    await server.client.ping() // a round trip after the refused append: any publish from it would have arrived
    await new Promise((r) => setTimeout(r, 20))
    expect(heard).toEqual([])
    expect(await server.client.keys('f15:{toolarge}*')).toEqual([])
    sub.disconnect()
  })

  it('a follower of a run of 60 events of 512 KiB that takes one record reads a few MiB of it from Redis, not the whole page of 30 MiB', async () => {
    const big = 'b'.repeat(512 * 1024 - 200)
    for (let i = 0; i < 60; i += 10)
      await Promise.all(
        Array.from({ length: 10 }, (_, k) => store.append('bigrun', { kind: 'blob', flow: 'bigrun', data: { i: i + k, big } })),
      )
    const sent = async () => Number(/total_net_output_bytes:(\d+)/.exec(await server.client.info('stats'))?.[1])
    const before = await sent()
    const it = store.follow('bigrun')[Symbol.asyncIterator]()
    const first = await it.next()
    expect((first.value as { data: { i: number } }).data.i).toBe(0)
    await new Promise((r) => setTimeout(r, 100)) // the next page, read ahead while the consumer takes this one
    const read = (await sent()) - before
    await it.return?.()
    expect(read).toBeLessThan(16 * 1024 * 1024)
    // a consumer that reads on gets every record, in order, once
    const all: number[] = []
    for await (const e of store.follow('bigrun')) {
      all.push((e.data as { i: number }).i)
      if (all.length === 60) break
    }
    expect(all).toEqual(Array.from({ length: 60 }, (_, i) => i))
  })

  it('a follower whose consumer stops taking records while 120 live events of 512 KiB arrive holds a few MiB of them, then catches up from the stream', async () => {
    setFlagsFromString('--expose-gc')
    const gc = runInNewContext('gc') as () => void
    const heap = () => {
      gc()
      return process.memoryUsage().heapUsed
    }
    const big = 'b'.repeat(512 * 1024 - 200)
    await store.append('stall', { kind: 'flow.started', flow: 'stall', data: { name: 'stall', input: null, steps: {} } })
    const it = store.follow('stall')[Symbol.asyncIterator]()
    await it.next()
    const before = heap()
    const ids: string[] = []
    for (let i = 0; i < 120; i += 10) {
      const batch = Array.from({ length: 10 }, (_, k) => store.append('stall', { kind: 'blob', flow: 'stall', data: { i: i + k, big } }))
      for (const e of await Promise.all(batch)) ids.push(e.id)
    }
    await new Promise((r) => setTimeout(r, 200)) // the live messages arrive; nobody takes them
    expect(heap() - before).toBeLessThan(30 * 1024 * 1024) // 60 MiB were published
    const got: string[] = []
    while (got.length < ids.length) got.push(((await it.next()).value as { id: string }).id)
    await it.return?.()
    expect(got).toEqual(ids)
  })
})
