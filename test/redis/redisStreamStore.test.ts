import { type EventRecord, isLeanflowError, type NewEvent } from '@leanflow/core'
import { createRedisStreamStore, type RedisStreamStore } from '@leanflow/redis'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { RUN_INDEX_LUA } from '../../packages/redis/src/lua/runIndex.js'
import { useRedisServer } from '../helpers/redisServer.js'
import { waitFor } from '../helpers/waitFor.js'

const redis = useRedisServer({ client: true })
let n = 0
const stores: RedisStreamStore[] = []
const fresh = (opts: Parameters<typeof createRedisStreamStore>[0] = {}) => {
  const s = createRedisStreamStore({ url: redis.url, prefix: `t${++n}`, ...opts })
  stores.push(s)
  return s
}
const log = (run: string, i: number): NewEvent => ({ kind: 'log', flow: run, data: { level: 'info', msg: `m${i}` } })
const started = (run: string, name: string): NewEvent => ({ kind: 'flow.started', flow: run, data: { name, input: null, steps: {} } })

async function take(it: AsyncIterable<EventRecord>, count: number): Promise<EventRecord[]> {
  const out: EventRecord[] = []
  if (count === 0) return out
  for await (const e of it) {
    out.push(e)
    if (out.length === count) break
  }
  return out
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => {
      throw new Error('expected a rejection')
    },
    (err: unknown) => err,
  )
}

afterAll(async () => {
  await Promise.all(stores.map((s) => s.close()))
})

describe('createRedisStreamStore', () => {
  it('exports the public API by name', async () => {
    expect(Object.keys(await import('@leanflow/redis')).sort()).toEqual([
      'createKeys',
      'createRedisRunStateStore',
      'createRedisStreamStore',
    ])
  })

  it('appends with Redis-assigned ids and ts, and reads back the same records', async () => {
    const store = fresh()
    const a = await store.append('r1', log('r1', 1))
    const b = await store.append('r1', { kind: 'step.started', flow: 'r1', step: 's', data: { input: 1 }, meta: { attempt: 1 } })
    expect(a.id).toMatch(/^\d+-\d+$/)
    expect(new Date(a.ts).getTime()).toBe(Number(a.id.split('-')[0]))
    expect(await store.read('r1')).toEqual([a, b])
    expect(await redis.client.xlen('t1:{r1}:events')).toBe(2)
  })

  it('reads with exclusive after/before, both directions, paged', async () => {
    const store = fresh()
    const all: EventRecord[] = []
    for (let i = 0; i < 7; i++) all.push(await store.append('r', log('r', i)))
    expect(await store.read('r', { after: all[1]!.id, before: all[5]!.id })).toEqual(all.slice(2, 5))
    expect(await store.read('r', { direction: 'backward', limit: 3 })).toEqual(all.slice(4).reverse())
    expect(await store.read('r', { direction: 'backward', before: all[4]!.id, after: all[0]!.id })).toEqual(all.slice(1, 4).reverse())
    expect(await store.read('r', { after: all[6]!.id })).toEqual([])
    expect(await store.read('nothing-here')).toEqual([])
  })

  it('returns the first record for a repeated idempotency key and stores one event', async () => {
    const store = fresh()
    const first = await store.append('r', log('r', 1), { idempotencyKey: 'k1' })
    const again = await store.append('r', log('r', 2), { idempotencyKey: 'k1' })
    expect(again).toEqual(first)
    expect(await store.read('r')).toEqual([first])
  })

  it('follows from the start, then live, without gaps or duplicates, and releases the channel', async () => {
    const store = fresh()
    const before = [await store.append('r', log('r', 0)), await store.append('r', log('r', 1))]
    const ac = new AbortController()
    const got = take(store.follow('r', { signal: ac.signal }), 12)
    // the run's channel by the store's own key module: subscribed while followed, released after
    const channel = store.keys.live('r')
    const subscribers = async () => Number(((await redis.client.pubsub('NUMSUB', channel)) as [string, number])[1])
    const until = async (want: number) => {
      for (let t = 0; t < 200 && (await subscribers()) !== want; t++) await new Promise((r) => setTimeout(r, 10))
      return subscribers()
    }
    expect(await until(1)).toBe(1)
    const live: EventRecord[] = []
    for (let i = 2; i < 12; i++) live.push(await store.append('r', log('r', i)))
    expect(await got).toEqual([...before, ...live])
    expect(await until(0)).toBe(0)
  })

  it('follow after an id yields only later events; abort ends it without a throw', async () => {
    const store = fresh()
    const a = await store.append('r', log('r', 0))
    const b = await store.append('r', log('r', 1))
    const ac = new AbortController()
    const seen: EventRecord[] = []
    const done = (async () => {
      for await (const e of store.follow('r', { after: a.id, signal: ac.signal })) {
        seen.push(e)
        if (seen.length === 2) ac.abort()
      }
    })()
    const c = await store.append('r', log('r', 2))
    await done
    expect(seen).toEqual([b, c])
  })

  it('a follower that stops reading while 12,000 events arrive drops its live queue and catches up from the stream', async () => {
    const store = fresh()
    await store.append('slow', log('slow', 0))
    const it = store.follow('slow')[Symbol.asyncIterator]()
    const first = await it.next()
    const waiting = it.next() // the follower waits for live events, then nobody reads
    const appended: EventRecord[] = []
    for (let i = 1; i <= 12_000; i += 500) {
      appended.push(...(await Promise.all(Array.from({ length: 500 }, (_, k) => store.append('slow', log('slow', i + k))))))
    }
    const got = [first.value as EventRecord, (await waiting).value as EventRecord]
    while (got.length < 12_001) got.push((await it.next()).value as EventRecord)
    await it.return?.()
    expect(got.map((e) => e.id)).toEqual((await store.read('slow', { limit: 20_000 })).map((e) => e.id))
    expect(got.length).toBe(appended.length + 1)
  })

  it('shares one subscriber connection between followers of many runs', async () => {
    const store = fresh({ connectionName: 'shared-test' })
    const runs = ['a', 'b', 'c', 'd']
    const follows = runs.map((r) => take(store.follow(r), 3))
    for (let i = 0; i < 3; i++) for (const r of runs) await store.append(r, log(r, i))
    const results = await Promise.all(follows)
    for (const [i, r] of runs.entries()) expect(results[i]!.map((e) => e.data)).toEqual([0, 1, 2].map((j) => log(r, j).data))
    const clients = (await redis.client.client('LIST')) as string
    expect(clients.split('\n').filter((l) => l.includes('name=shared-test:sub'))).toHaveLength(1)
    expect(clients.split('\n').filter((l) => l.includes('name=shared-test:cmd'))).toHaveLength(1)
  })

  it('keeps a run summary and a per-flow index: listRuns newest first, before, status, limit; listFlows', async () => {
    const store = fresh()
    const s1 = await store.append('run1', started('run1', 'order'))
    await new Promise((r) => setTimeout(r, 3))
    const s2 = await store.append('run2', started('run2', 'order'))
    await new Promise((r) => setTimeout(r, 3))
    await store.append('run3', started('run3', 'invoice'))
    const done = await store.append('run1', { kind: 'flow.completed', flow: 'run1', data: { duration: 1 } })
    const runs = await store.listRuns('order')
    expect(runs.map((r) => r.runId)).toEqual(['run2', 'run1'])
    expect(runs[1]).toEqual({ runId: 'run1', flow: 'order', status: 'completed', startedAt: s1.ts, completedAt: done.ts })
    expect(runs[0]).toEqual({ runId: 'run2', flow: 'order', status: 'running', startedAt: s2.ts })
    expect((await store.listRuns('order', { status: 'running' })).map((r) => r.runId)).toEqual(['run2'])
    expect((await store.listRuns('order', { limit: 1 })).map((r) => r.runId)).toEqual(['run2'])
    expect((await store.listRuns('order', { before: Date.parse(s2.ts) })).map((r) => r.runId)).toEqual(['run1'])
    expect(await store.listRuns('nothing')).toEqual([])
    expect(await store.listFlows()).toEqual([
      { flow: 'invoice', runs: 1 },
      { flow: 'order', runs: 2 },
    ])
  })

  it('listRuns({ status }) reads one page of that status (no HMGET per run of the flow)', async () => {
    const store = fresh()
    const awaiting: string[] = []
    for (let i = 0; i < 200; i++) {
      const run = `many${i}`
      await store.append(run, started(run, 'many'))
      if (i % 20 === 3) {
        await store.append(run, { kind: 'step.await.time', flow: run, step: 'a', data: { resumeAt: new Date().toISOString() } })
        awaiting.push(run)
      } else await store.append(run, { kind: 'flow.completed', flow: run, data: { duration: 1 } })
    }
    const calls = async () => {
      const stats = await redis.client.info('commandstats')
      const count = (cmd: string) => Number(new RegExp(`cmdstat_${cmd}:calls=(\\d+)`).exec(stats)?.[1] ?? 0)
      return { hmget: count('hmget'), zrevrangebyscore: count('zrevrangebyscore') }
    }
    await redis.client.config('RESETSTAT')
    const page = await store.listRuns('many', { status: 'awaiting', limit: 5 })
    expect(page.map((r) => r.runId)).toEqual([...awaiting].reverse().slice(0, 5))
    const used = await calls()
    expect(used.zrevrangebyscore).toBe(1)
    expect(used.hmget).toBeGreaterThan(0)
    expect(used.hmget, 'HMGETs for a page of 5 among 200 runs').toBeLessThanOrEqual(10)
  })

  it('listRuns({ status }) moves an entry left behind by a lost index write to the status of the run summary', async () => {
    const store = fresh()
    const k = store.keys
    const s = await store.append('lost', started('lost', 'lossy'))
    await store.append('lost', { kind: 'step.await.trigger', flow: 'lost', step: 'a', data: { triggerId: 't', triggerType: 'user' } })
    // as if the index write of the await never happened: the entry is still running, at the start's version
    await redis.client.zrem(k.flowStatus('lossy', 'awaiting'), 'lost')
    await redis.client.zadd(k.flowStatus('lossy', 'running'), Date.parse(s.ts), 'lost')
    await redis.client.hset(k.flowVersions('lossy'), 'lost', s.id)
    expect(await store.listRuns('lossy', { status: 'running' })).toEqual([])
    expect((await store.listRuns('lossy', { status: 'awaiting' })).map((r) => [r.runId, r.status])).toEqual([['lost', 'awaiting']])
    expect(await redis.client.zrange(k.flowStatus('lossy', 'running'), 0, -1)).toEqual([])
  })

  it('index writes are versioned by event id: a late write of an older status changes nothing', async () => {
    const store = fresh()
    const k = store.keys
    const s = await store.append('late', started('late', 'lateflow'))
    const a = await store.append('late', { kind: 'step.await.time', flow: 'late', step: 'a', data: { resumeAt: s.ts } })
    // the index write rides behind the append (not waited for on a standalone Redis)
    await expect.poll(() => redis.client.hget(k.flowVersions('lateflow'), 'late'), { timeout: 5000 }).toBe(a.id)
    const sets = (first: 'running' | 'awaiting') => {
      const all = ['queued', 'running', 'awaiting', 'completed', 'failed', 'canceled'] as const
      return [k.flowStatus('lateflow', first), ...all.filter((x) => x !== first).map((x) => k.flowStatus('lateflow', x))]
    }
    const write = (status: 'running' | 'awaiting', sid: string) =>
      redis.client.eval(
        RUN_INDEX_LUA,
        9,
        k.flowRuns('lateflow'),
        k.flowDone('lateflow'),
        k.flowVersions('lateflow'),
        ...sets(status),
        'late',
        sid,
        Date.parse(s.ts),
        '',
      )
    // the start's write arriving after the await's: refused
    expect(await write('running', s.id)).toBe(0)
    expect(await write('awaiting', a.id)).toBe(0)
    expect((await store.listRuns('lateflow', { status: 'awaiting' })).map((r) => r.runId)).toEqual(['late'])
    expect(await redis.client.zrange(k.flowStatus('lateflow', 'running'), 0, -1)).toEqual([])
    // a retried flow.started re-sends the run's current entry: still awaiting
    await store.append('late', started('late', 'lateflow'), { idempotencyKey: 'x' })
    await store.append('late', started('late', 'lateflow'), { idempotencyKey: 'x' })
    expect((await store.listRuns('lateflow', { status: 'awaiting' })).map((r) => r.runId)).toEqual(['late'])
    // a newer one moves it
    const r = await store.append('late', {
      kind: 'step.resumed',
      flow: 'late',
      step: 'a',
      data: { reason: 'time', awaitType: 'time', awaitDuration: 1 },
    })
    await expect.poll(() => redis.client.hget(k.flowVersions('lateflow'), 'late'), { timeout: 5000 }).toBe(r.id)
    expect((await store.listRuns('lateflow', { status: 'running' })).map((x) => x.runId)).toEqual(['late'])
    expect(await redis.client.zrange(k.flowStatus('lateflow', 'awaiting'), 0, -1)).toEqual([])
  })

  it('expires a finished run after retention, drops it from the index, and follow after an old id throws HISTORY_GONE', async () => {
    const store = fresh({ retention: '300ms' })
    const a = await store.append('gone', started('gone', 'short'))
    await store.append('gone', { kind: 'flow.completed', flow: 'gone', data: { duration: 1 } }, { idempotencyKey: 'end' })
    await store.append('kept', started('kept', 'short'))
    expect(await redis.client.pttl(`${store.keys.prefix}:{gone}:events`)).toBeGreaterThan(0)
    expect(await redis.client.pttl(`${store.keys.prefix}:{gone}:idem`)).toBeGreaterThan(0)
    expect(await redis.client.pttl(`${store.keys.prefix}:{kept}:events`)).toBe(-1)
    for (let i = 0; i < 100 && (await redis.client.exists(`${store.keys.prefix}:{gone}:events`)); i++)
      await new Promise((r) => setTimeout(r, 50))
    expect(await redis.client.exists(store.keys.runKeys('gone'))).toBe(0)
    expect((await store.listRuns('short')).map((r) => r.runId)).toEqual(['kept'])
    expect(await store.listFlows()).toEqual([{ flow: 'short', runs: 1 }])
    expect(await redis.client.zcard(store.keys.flowRuns('short'))).toBe(1)
    expect(await redis.client.zrange(store.keys.flowStatus('short', 'completed'), 0, -1)).toEqual([])
    expect(await redis.client.zrange(store.keys.flowStatus('short', 'running'), 0, -1)).toEqual(['kept'])
    expect(await redis.client.hkeys(store.keys.flowVersions('short'))).toEqual(['kept'])
    const err = await rejection(take(store.follow('gone', { after: a.id }), 1))
    expect(isLeanflowError(err, 'HISTORY_GONE')).toBe(true)
  })

  it('prunes the index of expired runs as runs end, with no listRuns or listFlows call (a service that never lists runs kept every entry)', async () => {
    const store = fresh({ retention: '300ms' })
    const finish = async (runId: string) => {
      await store.append(runId, started(runId, 'busy'))
      await store.append(runId, { kind: 'flow.completed', flow: runId, data: { duration: 1 } })
    }
    const first = Array.from({ length: 100 }, (_, i) => `old${i}`)
    for (const runId of first) await finish(runId)
    await waitFor(async () => (await redis.client.exists(store.keys.runKeys('old99'))) === 0, 'the first runs expired', 10_000)
    // more runs end; nobody lists: the first ones' entries go all the same
    for (let i = 0; i < 100; i++) await finish(`new${i}`)
    const left = async () =>
      (await Promise.all(first.map((id) => redis.client.zscore(store.keys.flowRuns('busy'), id)))).filter((x) => x !== null)
    await waitFor(async () => (await left()).length === 0, "the expired runs' entries dropped", 10_000)
    expect(await redis.client.hexists(store.keys.flowVersions('busy'), 'old0')).toBe(0)
    expect(await redis.client.zscore(store.keys.flowDone('busy'), 'old0')).toBeNull()
  })

  it('refuses hostile names before writing, and stores __proto__ payload keys safely', async () => {
    const store = fresh()
    for (const bad of ['a:b', 'x*', '{r}', 'a\nb', '', '-x']) {
      expect(isLeanflowError(await rejection(store.append(bad, log(bad, 1))), 'INVALID_NAME')).toBe(true)
      expect(isLeanflowError(await rejection(store.append('ok', { kind: bad, flow: 'ok', data: null })), 'INVALID_NAME')).toBe(true)
      expect(isLeanflowError(await rejection(store.append('ok', { kind: 'k', step: bad, flow: 'ok', data: null })), 'INVALID_NAME')).toBe(
        true,
      )
      expect(isLeanflowError(await rejection(store.append('ok', started('ok', bad))), 'INVALID_NAME')).toBe(true)
    }
    expect(isLeanflowError(await rejection(store.append('ok', started('ok', 'runs'))), 'INVALID_NAME')).toBe(true)
    expect(await redis.client.keys(`${store.keys.prefix}:*`)).toEqual([])
    const data = JSON.parse('{"__proto__": {"polluted": true}, "constructor": {"prototype": {"p": 1}}}')
    const rec = await store.append('ok', { kind: 'user.thing', flow: 'ok', data })
    const [back] = await store.read('ok')
    expect(back).toEqual(rec)
    expect(Object.hasOwn(back!.data as object, '__proto__')).toBe(true)
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  it('appendMany stores a batch of 10,000 events in one call (more arguments than a JavaScript call takes)', async () => {
    const store = fresh()
    const items = Array.from({ length: 10_000 }, (_, i) => ({ event: log('big-batch', i), idempotencyKey: `k${i}` }))
    const records = await store.appendMany!('big-batch', items)
    expect(records).toHaveLength(10_000)
    const stored = await store.read('big-batch', { limit: 20_000 })
    expect(stored.map((e) => e.data)).toEqual(items.map((it) => it.event.data))
    expect(stored.map((e) => e.id)).toEqual(records.map((r) => r.id))
  })

  it('listRuns drops any number of stale index entries (10,000 ids with no run behind them) and answers the runs', async () => {
    const prefix = `t${++n}`
    const store = fresh({ prefix })
    await store.append('real', started('real', 'crowded'))
    const key = `${prefix}:flow:{crowded}:runs`
    const ids = Array.from({ length: 10_000 }, (_, i) => `ghost-${i}`)
    for (let i = 0; i < ids.length; i += 1000)
      await redis.client.zadd(key, ...ids.slice(i, i + 1000).flatMap((id) => [Date.now() + 1000, id]))
    expect((await store.listRuns('crowded', { limit: 20_000 })).map((r) => r.runId)).toEqual(['real'])
    expect(await redis.client.zcard(key)).toBe(1)
  })

  it('refuses an event over maxEventsPerRun with RUN_TOO_LONG', async () => {
    const store = fresh({ maxEventsPerRun: 3 })
    for (let i = 0; i < 3; i++) await store.append('r', log('r', i))
    expect(isLeanflowError(await rejection(store.append('r', log('r', 3))), 'RUN_TOO_LONG')).toBe(true)
    expect(await redis.client.xlen(store.keys.events('r'))).toBe(3)
  })

  it('publishes appended records on the bus', async () => {
    const seen: EventRecord[] = []
    const store = fresh({ bus: { publish: (e) => seen.push(e) } })
    const a = await store.append('r', log('r', 1), { idempotencyKey: 'x' })
    await store.append('r', log('r', 1), { idempotencyKey: 'x' })
    expect(seen).toEqual([a])
    // the record as stored, as read gives it: never the caller's objects (changed after the append)
    const list = [1]
    const data = { when: new Date(0), n: Number.NaN, gone: undefined, list }
    await store.append('r', { kind: 'k', flow: 'r', data })
    list.push(2)
    const [stored] = (await store.read('r')).slice(-1)
    expect(seen.at(-1)).toEqual(stored)
    expect(seen.at(-1)?.data).toEqual({ when: '1970-01-01T00:00:00.000Z', n: null, list: [1] })
  })

  it('close() ends followers and quits its connections, but not a client the caller passed', async () => {
    const store = fresh()
    await store.append('r', log('r', 0))
    const seen: EventRecord[] = []
    const following = (async () => {
      for await (const e of store.follow('r')) seen.push(e)
    })()
    // the follower holds the first event and waits for more (however loaded the machine), then close() ends it
    await waitFor(async () => seen.length === 1, 'the first event followed', 10_000)
    await store.close()
    await following
    expect(seen.length).toBe(1)
    const mine = new Redis(redis.url)
    const borrowed = createRedisStreamStore({ redis: mine, prefix: 'borrowed' })
    await borrowed.append('r', log('r', 0))
    await borrowed.close()
    expect(await mine.ping()).toBe('PONG')
    mine.disconnect()
  })

  it('a call on a store whose given client the app quit says that client is closed for good, not to retry once Redis is reachable', async () => {
    const mine = new Redis(redis.url)
    const borrowed = createRedisStreamStore({ redis: mine, prefix: 'quit' })
    await borrowed.append('r', log('r', 0))
    await mine.quit()
    for (const call of [() => borrowed.read('r'), () => borrowed.externalPosition()]) {
      const err = await call().then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(isLeanflowError(err, 'STORE_UNAVAILABLE'), String(err)).toBe(true)
      expect((err as Error).message).toMatch(
        /^(read\("r"\)|externalPosition\(\)) failed: the ioredis client of the Redis store is closed for good \(its status is "end"/,
      )
      expect((err as Error).message).not.toMatch(/Retry once/)
    }
    await borrowed.close()
  })

  it('a call on a store made from `url` after close() says the store is closed, not to retry once Redis is reachable', async () => {
    const store = fresh()
    await store.append('r', log('r', 0))
    await store.close()
    // every port of the store: the run state, schedules and limits it mixes in say so too
    for (const call of [
      () => store.append('r', log('r', 1)),
      () => store.read('r'),
      () => store.listRuns('f'),
      () => store.getRunState('r'),
      () => store.externalPosition(),
      () => store.getSchedule('nightly'),
      () => store.limitUsage('sync'),
    ]) {
      const err = await call().then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(isLeanflowError(err, 'STORE_UNAVAILABLE')).toBe(true)
      expect((err as Error).message).toMatch(/store is closed.*create a new store/)
    }
  })
})
