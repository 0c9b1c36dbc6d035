/**
 * Versions, patches and reruns across real processes on one real redis-server
 * (design/versions-and-reruns.md, guarantees 1-3): two workers holding different versions of a
 * flow (v1+v2 and v2 only), a `ctx.patched` deploy between two worker generations, a rerun from a
 * step with its worker SIGKILLed inside a step. Workers are `test/workers/versionWorker.ts` on
 * BullMQ; this process only starts runs (a runner it never starts), reruns and reads.
 */
import type { EventRecord } from '@leanflow/core'
import type { RedisStreamStore } from '@leanflow/redis'
import { describe, expect, it } from 'vitest'
import { useRedisServer } from '../helpers/redisServer.js'
import { versionFlows } from '../workers/versionFlows.js'
import { useWorkerFleet } from '../workers/workerFleet.js'

const redis = useRedisServer({ args: ['--hz', '100'], client: true })
const fleet = useWorkerFleet({ redis, prefix: 'ver', worker: 'versionWorker.ts', flows: (id) => versionFlows(redis.client, id) })

/** A fresh prefix and queue, a producer runner (never started, holding every version) and a way to fork workers on them. */
function setup() {
  const { id, store, producer, spawn: fork, ready } = fleet.setup()
  const spawn = async (env: Record<string, string> = {}) => {
    const w = fork(env)
    await ready([w])
    return w
  }
  const ran = (runId: string) => redis.client.lrange(`${id}:ran:${runId}`, 0, -1)
  const effects = (runId: string) => redis.client.lrange(`${id}:effects:${runId}`, 0, -1)
  return { id, store, producer, spawn, ran, effects }
}

const logOf = (store: RedisStreamStore, runId: string) => store.read(runId, { limit: 10_000 })
const completedOnce = (log: EventRecord[]) => {
  const steps = log.filter((e) => e.kind === 'step.completed').map((e) => e.step)
  return new Set(steps).size === steps.length
}

describe('versions across worker processes', () => {
  it('v1 runs finish on v1 code while new runs use v2, on a v1+v2 and a v2-only worker; the v2-only worker never runs a v1 step (guarantee 1)', async () => {
    const { store, producer, spawn, ran } = setup()
    const [both, v2only] = await Promise.all([spawn({ VERSIONS: '1,2' }), spawn({ VERSIONS: '2' })])
    const v1Runs = await Promise.all(Array.from({ length: 8 }, () => producer.startFlow('order', {}, { version: 1 })))
    const v2Runs = await Promise.all(Array.from({ length: 8 }, () => producer.startFlow('order', {})))
    for (const { runId } of v1Runs) {
      expect(await producer.result(runId, { timeout: '20s' })).toEqual({ charge: 'charged by v1' })
      const entries = await ran(runId)
      expect(entries.map((e) => e.split(':').slice(0, 2).join(':'))).toEqual(['v1:reserve', 'v1:charge'])
      // every v1 step ran in the v1+v2 process, none in the v2-only one
      expect(entries.every((e) => e.endsWith(`:${both.pid}`))).toBe(true)
      const log = await logOf(store, runId)
      expect(log.some((e) => String(e.meta?.worker ?? '').endsWith(`:${v2only.pid}`))).toBe(false)
      expect(completedOnce(log)).toBe(true)
    }
    for (const { runId } of v2Runs) {
      expect(await producer.result(runId, { timeout: '20s' })).toEqual({ charge: 'charged by v2' })
      expect((await ran(runId)).every((e) => e.startsWith('v2:'))).toBe(true)
    }
    // the v2-only worker reported the missing version at most once, however many v1 jobs it handed back
    const reports = v2only.messages.filter((m) => m.type === 'error' && m.code === 'FLOW_NOT_FOUND')
    expect(reports.length).toBeLessThanOrEqual(1)
    expect(both.messages.filter((m) => m.type === 'error')).toEqual([])
  })

  it('a history written before ctx.patched was deployed replays without NonDeterminismError on the old branch; new runs take the new one (guarantee 2)', async () => {
    const { store, producer, spawn, ran, effects } = setup()
    const before = await spawn({ PATCHED: '0' })
    const { runId: old } = await producer.startFlow('pay', {})
    await waitForKind(store, old, 'step.await.event')
    // the deploy: the old worker goes away (its step is suspended: nothing of it runs), a patched one takes over
    before.kill('SIGKILL')
    await before.exited
    await spawn({ PATCHED: '1' })
    const { runId: fresh } = await producer.startFlow('pay', {})
    await waitForKind(store, fresh, 'step.await.event')
    await producer.publishEvent({ kind: 'paid', data: { ok: true } })
    await producer.publishEvent({ kind: 'paid', data: { ok: true } })
    expect(await producer.result(old, { timeout: '20s' })).toEqual({ charge: true })
    expect(await producer.result(fresh, { timeout: '20s' })).toEqual({ charge: true })
    expect(await effects(old)).toEqual(['receipt'])
    expect(await effects(fresh)).toEqual(['fraud', 'receipt'])
    // the old run ran old code first, then replayed on patched code
    expect((await ran(old)).map((e) => e.split(':')[0])).toEqual(['old', 'patched'])
  })
})

describe('reruns across worker processes', () => {
  it('rerun({ from }) runs exactly from and its descendants, copies the rest byte for byte, and completes once through a SIGKILL in a step (guarantee 3)', async () => {
    const { id, store, producer, spawn, ran, effects } = setup()
    await redis.client.set(`${id}:fail`, '1')
    const first = await spawn({ KILL: 'rerunEffect:c' })
    const { runId: failed } = await producer.startFlow('pipeline', {})
    await expect(producer.result(failed, { timeout: '20s' })).rejects.toThrow(/b fails on the flag/)
    const oldLog = await logOf(store, failed)
    await redis.client.del(`${id}:fail`)
    const { runId } = await producer.rerun(failed, { from: 'b' })
    // the first worker dies inside c's effect (done, not recorded); another takes the step over
    await first.waitFor((m) => m.type === 'checkpoint', 'the kill in c', 20_000)
    await first.exited
    await spawn()
    expect(await producer.result(runId, { timeout: '20s' })).toEqual({ c: { c: { b: 3 } } })
    const log = await logOf(store, runId)
    expect((log[0]?.data as { rerunOf?: unknown } | undefined)?.rerunOf).toEqual({ runId: failed, from: 'b' })
    // only b and c ran (c twice: its handler again after the kill), a and d were copied
    const steps = (await ran(runId)).map((e) => e.split(':')[1])
    expect(steps).toEqual(['b', 'c', 'c'])
    // c's effect ran once (the kill came after it, before it was recorded: at-least-once, F2's limit) — b's once
    expect((await effects(runId)).filter((e) => e === 'b')).toEqual(['b'])
    expect(completedOnce(log)).toBe(true)
    const copied = log.filter((e) => e.kind === 'step.completed' && (e.data as { copied?: boolean }).copied === true)
    expect(copied.map((e) => e.step).sort()).toEqual(['a', 'd'])
    const result = (events: EventRecord[], step: string) =>
      JSON.stringify((events.find((e) => e.kind === 'step.completed' && e.step === step)?.data as { result?: unknown } | undefined)?.result)
    expect(result(log, 'a')).toBe(result(oldLog, 'a'))
    expect(result(log, 'd')).toBe(result(oldLog, 'd'))
    expect(await logOf(store, failed)).toEqual(oldLog)
  })
})

async function waitForKind(store: RedisStreamStore, runId: string, kind: string): Promise<void> {
  const ac = new AbortController()
  const timer = setTimeout(() => ac.abort(), 20_000)
  try {
    for await (const e of store.follow(runId, { signal: ac.signal })) if (e.kind === kind) return
    throw new Error(`no ${kind} in run ${runId}`)
  } finally {
    clearTimeout(timer)
    ac.abort()
  }
}
