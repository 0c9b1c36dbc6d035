// F4: the store's connections are killed (CLIENT KILL ID) while 100 runs append concurrently,
// and while a runner executes 100 concurrent runs: a blip (reconnect in ms) surfaces no error.
import type { EventRecord } from '@leanflow/core'
import { createRedisStreamStore, type RedisStreamStore } from '@leanflow/redis'
import { createRunner, defineFlow } from '@leanflow/runner'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { useRedisServer } from '../helpers/redisServer.js'
import { checkRunLog, waitForRuns } from '../workers/checkRunLog.js'

const server = useRedisServer({ client: true })
let store: RedisStreamStore

beforeAll(async () => {
  store = createRedisStreamStore({ url: server.url, prefix: 'f4', connectionName: 'f4' })
})
afterAll(async () => {
  await store.close()
})

async function killByName(names: string[]): Promise<number> {
  const list = (await server.client.client('LIST')) as string
  const ids = list
    .split('\n')
    .filter((l) => names.some((n) => l.includes(` name=${n} `)))
    .map((l) => /(?:^|\s)id=(\d+)/.exec(l)?.[1])
    .filter((id): id is string => id !== undefined)
  for (const id of ids) await server.client.client('KILL', 'ID', id).catch(() => 0)
  return ids.length
}

async function followN(runId: string, n: number): Promise<EventRecord[]> {
  const out: EventRecord[] = []
  for await (const e of store.follow(runId)) if (out.push(e) === n) break
  return out
}

describe('F4: killed connections during 100 concurrent runs', () => {
  it('every append succeeds; every log is contiguous, in order, without duplicates; followers see it all', async () => {
    const RUNS = 100
    const EVENTS = 30
    const runs = Array.from({ length: RUNS }, (_, i) => `run${i}`)
    const followers = runs.map((r) => followN(r, EVENTS))
    let appended = 0
    const writers = runs.map(async (r) => {
      for (let i = 0; i < EVENTS; i++) {
        await store.append(r, { kind: 'tick', flow: r, data: { i } }, { idempotencyKey: `${r}:${i}` })
        appended++
      }
    })
    let kills = 0
    const killer = (async () => {
      for (let round = 0; round < 6 && appended < RUNS * EVENTS; round++) {
        await new Promise((r) => setTimeout(r, 40))
        kills += await killByName(['f4:cmd', 'f4:sub'])
      }
    })()
    await Promise.all(writers)
    await killer
    expect(kills).toBeGreaterThan(0)
    const logs = await Promise.all(runs.map((r) => store.read(r)))
    for (const log of logs) expect(log.map((e) => (e.data as { i: number }).i)).toEqual(Array.from({ length: EVENTS }, (_, i) => i))
    const followed = await Promise.all(followers)
    expect(followed).toEqual(logs)
  })
})

const retry = { attempts: 3, backoff: { type: 'fixed' as const, delayMs: 10 } }
const four = defineFlow({
  name: 'four',
  steps: {
    a: {
      retry,
      handler: async (_input, ctx) => {
        ctx.logger.info('a')
        return ctx.do('effect', async () => 1)
      },
    },
    b: {
      needs: ['a'],
      retry,
      handler: async (_input, ctx) => {
        await ctx.await.time(20)
        return 2
      },
    },
    c: {
      needs: ['a'],
      retry,
      handler: async (_input, ctx) => {
        await ctx.state.set('c', true)
        return 3
      },
    },
    d: { needs: ['b', 'c'], retry, handler: async (_input, ctx) => (ctx.results.b as number) + (ctx.results.c as number) },
  },
})

describe('F4: killed connections while a runner executes 100 concurrent runs', () => {
  it('every start succeeds and every run completes; each log is contiguous and without duplicates', async () => {
    const runStore = createRedisStreamStore({ url: server.url, prefix: 'f4r', connectionName: 'f4r' })
    const runner = createRunner({ store: runStore, flows: [four], concurrency: 16, cancelPollMs: 100, onError: () => {} })
    await runner.start()
    try {
      const runs = Array.from({ length: 100 }, (_, i) => `r${i}`)
      let done = false
      let kills = 0
      const killer = (async () => {
        while (!done) {
          await new Promise((r) => setTimeout(r, 60))
          kills += await killByName(['f4r:cmd', 'f4r:sub'])
        }
      })()
      // starts race the kills too: a blip must not reject them
      const starts = await Promise.allSettled(runs.map((runId) => runner.startFlow('four', {}, { runId })))
      expect(starts.filter((s) => s.status === 'rejected')).toEqual([])
      let logs: Map<string, EventRecord[]>
      try {
        logs = await waitForRuns(runStore, runs, 90_000)
      } finally {
        done = true
        await killer
      }
      expect(kills).toBeGreaterThan(2)
      expect([...logs.values()].flatMap((log) => checkRunLog(log))).toEqual([])
      for (const log of logs.values()) expect(log.at(-1)?.data).toMatchObject({ result: { d: 5 } })
    } finally {
      await runner.stop()
      await runStore.close()
    }
  }, 120_000)
})
