/**
 * The ticker of a started runner on a slow store (a real redis-server behind a wrapper that adds
 * latency to the schedule calls, as a distant Redis would): its poll loop stays one loop however
 * often it is woken, stops with `stop()`, and does not drift later tick after tick.
 */
import { createRedisStreamStore, type RedisStreamStore } from '@leanflow/redis'
import { createRunner } from '@leanflow/runner'
import { afterEach, describe, expect, it } from 'vitest'
import { useRedisServer } from '../helpers/redisServer.js'
import { scheduleFlows } from '../workers/scheduleFlows.js'

const redis = useRedisServer({ args: ['--hz', '100'] })
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
let n = 0
const closers: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const close of closers.splice(0)) await close()
})

/**
 * A Redis store whose schedule reads take longer (`dueMs` for dueSchedules, `getMs` for getSchedule);
 * `calls` records when dueSchedules was called, `onDue` runs at each call (a look in progress).
 */
function slowStore(dueMs: number, getMs: number) {
  const store: RedisStreamStore = createRedisStreamStore({ url: redis.url, prefix: `tk${++n}` })
  closers.push(() => store.close())
  const calls: number[] = []
  const hooks = { onDue: () => {} }
  const slow = new Proxy(store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver)
      if (typeof value !== 'function') return value
      if (prop !== 'dueSchedules' && prop !== 'getSchedule') return value.bind(target)
      return async (...args: unknown[]) => {
        if (prop === 'dueSchedules') {
          calls.push(Date.now())
          hooks.onDue()
        }
        await sleep(prop === 'dueSchedules' ? dueMs : getMs)
        return value.apply(target, args)
      }
    },
  })
  return { store, slow, calls, hooks }
}

describe('the schedule ticker on a slow store', () => {
  it('woken (set) while a look is in progress: still one poll loop, and none left after stop()', async () => {
    const { slow, calls, hooks } = slowStore(300, 0)
    const runner = createRunner({ store: slow, flows: scheduleFlows(['tick']), onError: () => {} })
    const spec = { id: 'yearly', flow: 'tick', cron: '0 0 1 1 *' } as const
    await runner.schedules.set(spec)
    await runner.start()
    // set() wakes the ticker: 3 times, each while a look waits for its dueSchedules (300 ms)
    let wakes = 0
    const woken: Array<Promise<unknown>> = []
    hooks.onDue = () => {
      if (wakes++ < 3) woken.push(sleep(50).then(() => runner.schedules.set(spec)))
    }
    await sleep(4000)
    await Promise.all(woken)
    expect(wakes).toBeGreaterThanOrEqual(3)
    const from = calls.length
    await sleep(3000)
    // one loop looks about once a second (nothing due): 3 s → 3, maybe 4
    expect(calls.length - from).toBeLessThanOrEqual(4)
    await runner.stop()
    const atStop = calls.length
    await sleep(2500)
    expect(calls.length - atStop).toBe(0)
  })

  it('an every-second schedule does not drift: each tick starts its run within 500 ms of its time, over 12 ticks', async () => {
    const { store, slow } = slowStore(40, 40)
    const runner = createRunner({ store: slow, flows: scheduleFlows(['tick']), onError: () => {} })
    await runner.schedules.set({ id: 'each-second', flow: 'tick', every: '1s' })
    await runner.start()
    await sleep(13_500)
    await runner.stop()
    const late: number[] = []
    for (const r of await store.listRuns('tick', { limit: 100 })) {
      const [first] = await store.read(r.runId, { limit: 1 })
      const tick = (first?.data as { schedule?: { tick: string } } | undefined)?.schedule?.tick
      if (first && tick) late.push(Date.parse(first.ts) - Date.parse(tick))
    }
    late.reverse() // oldest first
    expect(late.length).toBeGreaterThanOrEqual(12)
    // the first tick may be one already late when the runner started
    expect(late.slice(1).filter((ms) => ms > 500)).toEqual([])
  })
})
