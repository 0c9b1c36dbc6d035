// F13: 1,000 runs × 50 events appended concurrently; every reduced state equals the expected one.
import { type EventRecord, type NewEvent, reduceFlow } from '@leanflow/core'
import { createRedisStreamStore, type RedisStreamStore } from '@leanflow/redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { useRedisServer } from '../helpers/redisServer.js'

const server = useRedisServer()
let store: RedisStreamStore

beforeAll(async () => {
  store = createRedisStreamStore({ url: server.url, prefix: 'f13' })
})
afterAll(async () => {
  await store.close()
})

/** The 50 events of run `k`: start, a step with 45 state.set/log events, its completion, the flow's. */
function script(run: string, k: number): NewEvent[] {
  const out: NewEvent[] = [
    { kind: 'flow.started', flow: run, data: { name: 'bulk', input: { k }, steps: { work: { needs: [] } } } },
    { kind: 'step.started', flow: run, step: 'work', data: { input: k }, meta: { attempt: 1 } },
  ]
  for (let i = 0; i < 45; i++) {
    out.push(
      i % 3 === 0
        ? { kind: 'log', flow: run, step: 'work', data: { level: 'info', msg: `line ${i}` } }
        : { kind: 'state.set', flow: run, step: 'work', data: { key: `slot${i % 4}`, value: k * 100 + i } },
    )
  }
  out.push({ kind: 'step.completed', flow: run, step: 'work', data: { result: k * 2, duration: 5 } })
  out.push({ kind: 'state.set', flow: run, data: { key: 'done', value: true } })
  out.push({ kind: 'flow.completed', flow: run, data: { result: k * 2, duration: 9 } })
  return out
}

describe('F13: 1,000 runs × 50 events, concurrent', () => {
  it('stores every log whole and in order; every reduced state is the expected one', async () => {
    const RUNS = 1000
    const runs = Array.from({ length: RUNS }, (_, k) => `bulk${k}`)
    const appended = await Promise.all(
      runs.map(async (run, k) => {
        const records: EventRecord[] = []
        for (const e of script(run, k)) records.push(await store.append(run, e))
        return records
      }),
    )
    for (let k = 0; k < RUNS; k++) {
      const run = runs[k]!
      const stored = await store.read(run)
      expect(stored).toHaveLength(50)
      expect(stored).toEqual(appended[k])
      const state = reduceFlow(stored)
      // expected values computed from the script, independently of the store
      const lastSet = (slot: number) =>
        k * 100 + Math.max(...Array.from({ length: 45 }, (_, i) => i).filter((i) => i % 3 !== 0 && i % 4 === slot))
      expect(state.status).toBe('completed')
      expect(state.name).toBe('bulk')
      expect(state.input).toEqual({ k })
      expect(state.result).toBe(k * 2)
      expect(state.steps.work?.status).toBe('completed')
      expect(state.steps.work?.result).toBe(k * 2)
      expect(state.state).toEqual({ slot0: lastSet(0), slot1: lastSet(1), slot2: lastSet(2), slot3: lastSet(3), done: true })
      expect(state.logs.map((l) => l.msg)).toEqual(Array.from({ length: 15 }, (_, j) => `line ${j * 3}`))
      expect(state.lastEventId).toBe(stored[49]!.id)
    }
    const listed = await store.listRuns('bulk', { limit: 2000 })
    expect(listed).toHaveLength(RUNS)
    expect(listed.every((r) => r.status === 'completed')).toBe(true)
    expect(await store.listFlows()).toEqual([{ flow: 'bulk', runs: RUNS }])
  })
})
