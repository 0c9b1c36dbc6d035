import { Socket } from 'node:net'
import { createMemoryRunStateStore, createMemoryStreamStore, isLeanflowError } from '@leanflow/core'
import { createRedisStreamStore } from '@leanflow/redis'
import { describeRunStateConformance } from '@leanflow/testing'
import { Redis } from 'ioredis'
import { describe, expect, it, vi } from 'vitest'
import { useRedisCluster } from '../helpers/redisCluster.js'
import { startRedis, useRedisServer } from '../helpers/redisServer.js'

const server = useRedisServer()
let n = 0
const cluster = useRedisCluster()

describeRunStateConformance('memory', async () => {
  const store = createMemoryStreamStore()
  return { store, cleanup: () => store.close() }
})

describeRunStateConformance('Redis', async () => {
  const store = createRedisStreamStore({ url: server.url, prefix: `rs${++n}` })
  return { store, cleanup: () => store.close() }
})

describeRunStateConformance('Redis Cluster', async () => {
  const store = createRedisStreamStore({ redis: cluster.client, prefix: `rc${++n}` })
  return { store, cleanup: () => store.close() }
})

describe('run state retention', () => {
  it('memory: a finished run document expires after the retention, by the store clock', async () => {
    let now = 1_000_000
    const s = createMemoryRunStateStore({ now: () => now, retention: 1000 })
    await s.casRunState('r', 0, { status: 'running' })
    await s.casRunState('r', 1, { status: 'completed' }, { finished: true })
    now += 999
    expect(await s.getRunState('r')).not.toBeNull()
    now += 2
    expect(await s.getRunState('r')).toBeNull()
  })

  it('Redis: a finished run document gets the retention as its TTL', async () => {
    const store = createRedisStreamStore({ url: server.url, prefix: `rs${++n}`, retention: 60_000 })
    try {
      await store.casRunState('r', 0, { status: 'running' })
      expect(await store.redis.pttl(`rs${n}:{r}:state`)).toBe(-1)
      await store.casRunState('r', 1, { status: 'completed' }, { finished: true })
      const ttl = await store.redis.pttl(`rs${n}:{r}:state`)
      expect(ttl).toBeGreaterThan(50_000)
      expect(ttl).toBeLessThanOrEqual(60_000)
    } finally {
      await store.close()
    }
  })

  it("memory: a parent's outbox of child outcomes expires the retention after its last put", async () => {
    let now = 1_000_000
    const s = createMemoryRunStateStore({ now: () => now, retention: 1000 })
    await s.casRunState('p', 0, { status: 'running' })
    await s.putChildOutcome?.('p', 'c1', { status: 'completed' })
    now += 999
    expect(await s.takeChildOutcomes?.('p')).toHaveLength(1)
    now += 2
    expect(await s.takeChildOutcomes?.('p')).toEqual([])
  })

  it("Redis: a parent's outbox lives the retention after its last put, no longer than the parent's document", async () => {
    const store = createRedisStreamStore({ url: server.url, prefix: `rs${++n}`, retention: 60_000 })
    const outbox = `rs${n}:{p}:outbox`
    const put = async (child: string) => {
      if (!store.putChildOutcome) throw new Error('the Redis store has an outbox of child outcomes')
      return store.putChildOutcome('p', child, { status: 'completed' })
    }
    try {
      await store.casRunState('p', 0, { status: 'running' })
      await put('c1')
      expect(await store.redis.pttl(outbox)).toBeGreaterThan(50_000)
      await store.casRunState('p', 1, { status: 'completed' }, { finished: true })
      await store.redis.pexpire(`rs${n}:{p}:state`, 5000)
      await put('c2')
      const ttl = await store.redis.pttl(outbox)
      expect(ttl).toBeGreaterThan(0)
      expect(ttl).toBeLessThanOrEqual(5000)
    } finally {
      await store.close()
    }
  })
})

describe('socket writes', () => {
  it("Redis: the store's clock and event position, asked in the tick of a compare-and-set, go out with it in one socket write", async () => {
    // an invoke asks the child's position beside its parent's suspend, a start the clock beside the position
    const store = createRedisStreamStore({ url: server.url, prefix: `rs${++n}` })
    const writes = vi.spyOn(Socket.prototype as unknown as { _writeGeneric: () => void }, '_writeGeneric')
    try {
      await store.casRunState('warm', 0, { status: 'running' }) // connected, the script loaded
      writes.mockClear()
      const [now, pos, cas] = await Promise.all([store.now(), store.externalPosition(), store.casRunState('r', 0, { status: 'running' })])
      expect(now).toBeGreaterThan(0)
      expect(pos).toBe(0)
      expect(cas.ok).toBe(true)
      const stream = (store.redis as unknown as { stream: Socket }).stream
      expect(writes.mock.contexts.filter((c) => c === stream)).toHaveLength(1)
    } finally {
      writes.mockRestore()
      await store.close()
    }
  })
})

describe('external idempotency keys', () => {
  it('a key kept in the format before kinds were kept still answers its first record (the kind the repeat names)', async () => {
    const store = createRedisStreamStore({ url: server.url, prefix: `ext${++n}` })
    const admin = new Redis(server.url)
    try {
      const first = await store.publishExternal('pay.ok', { n: 1 }, { idempotencyKey: 'new' })
      expect(await admin.get(store.keys.externalIdem('new'))).toBe(`${first.seq}|${Date.parse(first.ts)}|kpay.ok|{"n":1}`)
      await admin.set(store.keys.externalIdem('old'), '7|1700000000000|{"n":"k|x"}')
      expect(await store.publishExternal('pay.ok', { n: 2 }, { idempotencyKey: 'old' })).toEqual({
        id: '1700000000000-7',
        ts: new Date(1700000000000).toISOString(),
        kind: 'pay.ok',
        data: { n: 'k|x' },
        seq: 7,
      })
      expect(await store.publishExternal('pay.other', { n: 3 }, { idempotencyKey: 'new' })).toEqual(first)
    } finally {
      admin.disconnect()
      await store.close()
    }
  })
})

describe('a run of thousands of fences (a flow of 4,500 steps)', () => {
  it('createRun and casRunState store them all (the scripts unpacked them in one call: INTERNAL "too many results to unpack")', async () => {
    const store = createRedisStreamStore({ url: server.url, prefix: `fences${++n}` })
    const admin = new Redis(server.url)
    try {
      const fences = (lease: string) => Object.fromEntries(Array.from({ length: 4_500 }, (_, i) => [`step${i}`, `${lease}${i}`]))
      const started = { kind: 'flow.started', flow: 'wide', data: { name: 'wide', input: {}, steps: {} } }
      const created = await store.createRun('wide1', { status: 'running' }, started, {
        idempotencyKey: 'flow.started',
        fences: fences('a'),
      })
      expect(created.created).toBe(true)
      expect(await admin.hlen(store.keys.leases('wide1'))).toBe(4_500)
      expect(await admin.hget(store.keys.leases('wide1'), 'step4499')).toBe('a4499')
      const cas = await store.casRunState('wide1', 1, { status: 'running' }, { fences: fences('b') })
      expect(cas.ok).toBe(true)
      expect(await admin.hlen(store.keys.leases('wide1'))).toBe(4_500)
      expect(await admin.hget(store.keys.leases('wide1'), 'step4499')).toBe('b4499')
      // the last fence guards an append as the first does
      await store.append(
        'wide1',
        { kind: 'log', flow: 'wide', step: 'step4499', data: { level: 'info', msg: 'x' } },
        { fence: { key: 'step4499', token: 'b4499' } },
      )
      await expect(
        store.append(
          'wide1',
          { kind: 'log', flow: 'wide', step: 'step4499', data: { level: 'info', msg: 'y' } },
          { fence: { key: 'step4499', token: 'a4499' } },
        ),
      ).rejects.toThrow()
    } finally {
      admin.disconnect()
      await store.close()
    }
  })
})

describe('createRun on Redis at maxmemory (noeviction)', () => {
  it('refused creates leave nothing half-written: each run has its state and its flow.started, or neither; all succeed once memory frees', async () => {
    const oom = await startRedis()
    const admin = new Redis(oom.url)
    const store = createRedisStreamStore({ url: oom.url, prefix: 'oom' })
    try {
      const flow = 'oomflow'
      const pad = 'p'.repeat(2 * 1024)
      const create = (runId: string) =>
        store.createRun(
          runId,
          { status: 'running', pad },
          { kind: 'flow.started', flow: runId, data: { name: flow, input: { pad }, steps: {} } },
          {
            idempotencyKey: 'flow.started',
          },
        )
      await create('warm') // loads the script before memory is tight
      const used = Number(/used_memory:(\d+)/.exec(await admin.info('memory'))?.[1])
      await admin.config('SET', 'maxmemory-policy', 'noeviction')
      await admin.config('SET', 'maxmemory', String(used + 128 * 1024))
      const ids = Array.from({ length: 120 }, (_, i) => `oomrun${i}`)
      const refused: Array<{ runId: string; err: unknown }> = []
      for (let i = 0; i < ids.length; i += 10) {
        const batch = ids.slice(i, i + 10)
        const res = await Promise.allSettled(batch.map(create))
        res.forEach((r, j) => {
          if (r.status === 'rejected') refused.push({ runId: batch[j]!, err: r.reason })
        })
      }
      expect(refused.length, 'Redis refused some creates at maxmemory').toBeGreaterThan(10)
      for (const { runId, err } of refused) {
        expect(isLeanflowError(err, 'STORE_FULL'), `${runId}: ${String(err)}`).toBe(true)
        expect(String((err as Error).cause)).toMatch(/OOM/) // the driver's error, kept as the cause
      }
      const check = async (runId: string) => {
        const [state, events, meta, idem] = await Promise.all([
          admin.exists(store.keys.state(runId)),
          admin.xlen(store.keys.events(runId)),
          admin.exists(store.keys.meta(runId)),
          admin.exists(store.keys.idem(runId)),
        ])
        return { runId, state, events, meta, idem }
      }
      const whole = { state: 1, events: 1, meta: 1, idem: 1 }
      const none = { state: 0, events: 0, meta: 0, idem: 0 }
      // still at maxmemory: a refused create wrote nothing, an accepted one wrote everything and is listed
      const no = new Set(refused.map((r) => r.runId))
      for (const s of await Promise.all(ids.map(check))) expect(s).toEqual({ runId: s.runId, ...(no.has(s.runId) ? none : whole) })
      const listed = (await store.listRuns(flow, { limit: 200 })).map((r) => r.runId).sort()
      expect(listed).toEqual(['warm', ...ids.filter((id) => !no.has(id))].sort())
      await admin.config('SET', 'maxmemory', '0')
      // memory freed: every refused create now succeeds
      for (const runId of no) expect((await create(runId)).created).toBe(true)
      for (const s of await Promise.all(ids.map(check))) expect(s).toEqual({ runId: s.runId, ...whole })
      expect((await store.listRuns(flow, { limit: 200 })).length).toBe(ids.length + 1)
    } finally {
      await store.close()
      admin.disconnect()
      await oom.stop()
    }
  }, 60_000)
})
