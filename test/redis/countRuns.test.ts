// store.countRuns (issue 18: the dashboard's counts per status) on the memory store and on a real
// redis-server: a flow's runs counted per status as their terminal events and awaits move them,
// other flows and runs without flow.started not counted, an unknown flow all zeros, a finished run
// no longer counted once retention removed it, a bad flow name refused before any read.
import { createMemoryStreamStore, type NewEvent, type StreamStore } from '@leanflow/core'
import { createRedisStreamStore } from '@leanflow/redis'
import { Redis } from 'ioredis'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { useRedisServer } from '../helpers/redisServer.js'
import { waitFor } from '../helpers/waitFor.js'

const redis = useRedisServer()
let n = 0
const opened: StreamStore[] = []
const STORES: Array<[string, (retention?: number) => StreamStore]> = [
  ['memory', (retention) => createMemoryStreamStore(retention === undefined ? {} : { retention })],
  [
    'redis',
    (retention) => createRedisStreamStore({ url: redis.url, prefix: `cr${n++}`, ...(retention === undefined ? {} : { retention }) }),
  ],
]
const ZERO = { pending: 0, queued: 0, running: 0, awaiting: 0, completed: 0, failed: 0, canceled: 0 }

afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close()))
})

const started = (run: string, flow: string): NewEvent => ({
  kind: 'flow.started',
  flow: run,
  data: { name: flow, input: null, steps: { a: {} } },
})
const ev = (run: string, kind: string, data: unknown = {}, step?: string): NewEvent => ({
  kind,
  flow: run,
  data,
  ...(step ? { step } : {}),
})

describe.each(STORES)('countRuns on the %s store', (_name, open) => {
  const store = (retention?: number) => {
    const s = open(retention)
    opened.push(s)
    return s
  }

  it("counts a flow's runs per status as they change, and nothing of other flows", async () => {
    const s = store()
    const countRuns = (flow: string) => s.countRuns!(flow)
    for (const run of ['r1', 'r2', 'r3', 'r4', 'r5']) await s.append(run, started(run, 'shop'))
    await s.append('o1', started('o1', 'other'))
    await s.append('loose', ev('loose', 'user.thing')) // no flow.started: in no flow
    expect(await countRuns('shop')).toEqual({ runs: 5, statuses: { ...ZERO, running: 5 } })
    await s.append('r1', ev('r1', 'flow.completed', { duration: 1 }))
    await s.append('r2', ev('r2', 'flow.failed', { error: 'x' }))
    await s.append('r3', ev('r3', 'flow.canceled', { reason: 'x' }))
    await s.append('r4', ev('r4', 'step.started', {}, 'a'))
    await s.append('r4', ev('r4', 'step.await.trigger', { triggerId: 't1' }, 'a'))
    await waitFor(async () => (await countRuns('shop')).statuses.awaiting === 1, 'r4 awaiting')
    expect(await countRuns('shop')).toEqual({
      runs: 5,
      statuses: { ...ZERO, running: 1, awaiting: 1, completed: 1, failed: 1, canceled: 1 },
    })
    expect(await countRuns('other')).toEqual({ runs: 1, statuses: { ...ZERO, running: 1 } })
    expect(await countRuns('nothing-here')).toEqual({ runs: 0, statuses: ZERO })
    await expect(countRuns('bad name')).rejects.toMatchObject({ code: 'INVALID_NAME' })
  })

  it('stops counting a finished run once retention removed it', async () => {
    const s = store(300)
    await s.append('keep', started('keep', 'short'))
    await s.append('gone', started('gone', 'short'))
    await s.append('gone', ev('gone', 'flow.completed', { duration: 1 }))
    expect(await s.countRuns!('short')).toEqual({ runs: 2, statuses: { ...ZERO, running: 1, completed: 1 } })
    await waitFor(async () => (await s.countRuns!('short')).runs === 1, 'the finished run expired')
    expect(await s.countRuns!('short')).toEqual({ runs: 1, statuses: { ...ZERO, running: 1 } })
  })
})

describe.each(STORES)('expiry of many runs at once on the %s store', (_name, open) => {
  it('counts exactly on the first call after more than 1,000 finished runs of a flow expired', async () => {
    const s = open(200)
    opened.push(s)
    const finish = (flow: string, i: number) => {
      const run = `${flow}-${i}`
      return s.appendMany!(run, [{ event: started(run, flow) }, { event: ev(run, 'flow.completed', { duration: 1 }) }])
    }
    for (const flow of ['many', 'more']) {
      for (let i = 0; i < 1100; i += 100) await Promise.all(Array.from({ length: 100 }, (_, j) => finish(flow, i + j)))
    }
    const ended = Date.now()
    await new Promise((r) => setTimeout(r, ended + 250 - Date.now()))
    // each is the first look at its flow since every run of it expired: nothing left to count
    expect(await s.countRuns!('many')).toEqual({ runs: 0, statuses: ZERO })
    expect(await s.listFlows()).toEqual([])
  })
})

describe.each(STORES)('a run id used again after expiry on the %s store', (_name, open) => {
  it('is counted and listed in its new flow only, also when it starts no flow', async () => {
    const s = open(100)
    opened.push(s)
    for (const run of ['again', 'loose']) {
      await s.appendMany!(run, [{ event: started(run, 'old') }, { event: ev(run, 'flow.completed', { duration: 1 }) }])
    }
    await new Promise((r) => setTimeout(r, 200))
    await s.append('again', started('again', 'new')) // the same id, from scratch, in another flow
    await s.append('loose', ev('loose', 'step.started', {}, 'a')) // the same id, with no flow.started
    expect(await s.countRuns!('old')).toEqual({ runs: 0, statuses: ZERO })
    expect(await s.listFlows()).toEqual([{ flow: 'new', runs: 1 }])
    expect(await s.listRuns('old')).toEqual([])
    expect((await s.listRuns('new')).map((r) => r.runId)).toEqual(['again'])
  })
})

describe('listFlows on the redis store, while a run of a flow it finds empty starts', () => {
  it('keeps the flow listed: a run that starts between the count and the removal is listed again', async () => {
    const prefix = `cr${n++}`
    const client = new Redis(redis.url)
    /** Runs once, right before the store removes flows it found empty from the flows set. */
    let beforeRemove: (() => Promise<void>) | undefined
    const hooked = new Proxy(client, {
      get(target, prop) {
        const hook = beforeRemove
        if (prop === 'srem' && hook) {
          beforeRemove = undefined
          return async (...args: Parameters<Redis['srem']>) => {
            await hook()
            return target.srem(...args)
          }
        }
        const v = Reflect.get(target, prop, target)
        return typeof v === 'function' ? v.bind(target) : v
      },
    })
    const s = createRedisStreamStore({ redis: hooked, prefix, retention: 100 })
    // the other process's connection: a PING on it answers once its append's index write was carried out
    const otherClient = new Redis(redis.url)
    const other = createRedisStreamStore({ redis: otherClient, prefix })
    opened.push(s, other)
    await s.appendMany!('r1', [{ event: started('r1', 'f') }, { event: ev('r1', 'flow.completed', { duration: 1 }) }])
    await new Promise((r) => setTimeout(r, 200))
    // another process starts a run of f after this listFlows counted f's runs (0), before it unlists f
    beforeRemove = async () => {
      await other.append('r2', started('r2', 'f'))
      await otherClient.ping()
    }
    expect(await s.listFlows()).toEqual([])
    expect(beforeRemove).toBeUndefined()
    expect(await s.listFlows()).toEqual([{ flow: 'f', runs: 1 }])
    await Promise.all([client.quit(), otherClient.quit()])
  })
})

describe('countRuns and listFlows on the redis store, in a process whose clock is off', () => {
  it('prune by the Redis clock that dated each expiry (this process a minute behind would still count an expired run)', async () => {
    const real = Date.now.bind(Date)
    const s = createRedisStreamStore({ url: redis.url, prefix: `cr${n++}`, retention: 1000 })
    opened.push(s)
    const finish = (run: string) =>
      s.appendMany!(run, [{ event: started(run, 'f') }, { event: ev(run, 'flow.completed', { duration: 1 }) }])
    await finish('old')
    await new Promise((r) => setTimeout(r, 1200))
    await finish('new') // expires 1 s from now, on the Redis clock: still counted
    const spy = vi.spyOn(Date, 'now').mockImplementation(() => real() - 60_000)
    try {
      expect(await s.countRuns!('f')).toEqual({ runs: 1, statuses: { ...ZERO, completed: 1 } })
      expect(await s.listFlows()).toEqual([{ flow: 'f', runs: 1 }])
    } finally {
      spy.mockRestore()
    }
  })
})
