// F3: the reply to an append is lost on the wire; ioredis reconnects and resends the script.
import { createRedisStreamStore, type RedisStreamStore } from '@leanflow/redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { useRedisServer } from '../helpers/redisServer.js'
import { startTcpProxy, type TcpProxy } from '../helpers/tcpProxy.js'

const server = useRedisServer({ client: true })
let proxy: TcpProxy
let store: RedisStreamStore

beforeAll(async () => {
  proxy = await startTcpProxy(server.port)
  store = createRedisStreamStore({ url: proxy.url, prefix: 'f3' })
})
afterAll(async () => {
  await store.close()
  await proxy.close()
})

const ev = (i: number, flow = 'r') => ({ kind: 'log', flow, data: { level: 'info', msg: `m${i}` } })

describe('F3: lost append reply', () => {
  it('stores exactly one event when the append carries an idempotency key', async () => {
    const warm = await store.append('r', ev(0), { idempotencyKey: 'k0' })
    const connectionsBefore = proxy.connections
    proxy.setMode('drop-next-reply')
    const dropped = proxy.nextDrop()
    const record = await store.append('r', ev(1), { idempotencyKey: 'k1' })
    await dropped
    expect(proxy.dropped).toBe(1)
    expect(proxy.connections).toBeGreaterThan(connectionsBefore) // ioredis reconnected and resent
    expect(await store.read('r')).toEqual([warm, record])
    expect(await server.client.xlen(store.keys.events('r'))).toBe(2)
  })

  it('without a key the resend duplicates (which is why the runner always sends one)', async () => {
    await store.append('dup', ev(0, 'dup'))
    proxy.setMode('drop-next-reply')
    const dropped = proxy.nextDrop()
    await store.append('dup', ev(1, 'dup'))
    await dropped
    const events = await store.read('dup')
    expect(events.map((e) => (e.data as { msg: string }).msg)).toEqual(['m0', 'm1', 'm1'])
  })
})
