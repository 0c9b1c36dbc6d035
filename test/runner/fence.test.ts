/**
 * Lease fencing of step-scoped appends (DESIGN, Runner: "a worker that lost its job cannot
 * append events for that attempt"): the store checks the fence in the same atomic step as the
 * write, on both stores — first the port (`AppendOptions.fence`, `casRunState(…, { fences })`),
 * then the runner (a worker whose lease was taken over cannot append `log`, `emit`, `state.set`).
 */
import type { EventRecord, NewEvent } from '@leanflow/core'
import { compareEventIds, createMemoryStreamStore, isLeanflowError } from '@leanflow/core'
import { createRedisStreamStore } from '@leanflow/redis'
import { createMemoryQueue, defineFlow, type RunnerStore, type StepContext } from '@leanflow/runner'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { capturingQueue } from '../fixtures/runnerFaultSuite.js'
import { deferred, logOf, runnerHarness, type StoreFactory, startRunner, waitEnd } from '../fixtures/runnerKit.js'
import { useRedisServer } from '../helpers/redisServer.js'

const server = useRedisServer()
let n = 0

const factories: Array<[string, StoreFactory]> = [
  [
    'the memory store',
    async () => {
      const store = createMemoryStreamStore()
      return { store, cleanup: () => store.close() }
    },
  ],
  [
    'the Redis store',
    async () => {
      const store = createRedisStreamStore({ url: server.url, prefix: `fence${++n}` })
      return { store, cleanup: () => store.close() }
    },
  ],
]

const ev = (runId: string, i: number): NewEvent => ({ kind: 'log', flow: runId, step: 's', data: { i } })
const refused = (err: unknown) => (isLeanflowError(err, 'NON_RETRIABLE') ? 'refused' : Promise.reject(err))

describe.each(factories)('append fences on %s', (_label, factory) => {
  let store: RunnerStore
  let cleanup: () => Promise<void>
  beforeEach(async () => {
    ;({ store, cleanup } = await factory())
  })
  afterEach(async () => cleanup())

  it('stores a fenced append only while the fence holds the token; a refused one writes nothing', async () => {
    const runId = 'r1'
    await expect(store.append(runId, ev(runId, 0), { fence: { key: 's', token: 'L1' } })).rejects.toMatchObject({ code: 'NON_RETRIABLE' })
    await store.casRunState(runId, 0, { v: 1 }, { fences: { s: 'L1', t: 'T1' } })
    const first = await store.append(runId, ev(runId, 1), { fence: { key: 's', token: 'L1' }, idempotencyKey: 'k1' })
    await expect(store.append(runId, ev(runId, 2), { fence: { key: 's', token: 'L0' } })).rejects.toMatchObject({ code: 'NON_RETRIABLE' })
    await expect(store.append(runId, ev(runId, 3), { fence: { key: 'u', token: 'L1' } })).rejects.toMatchObject({ code: 'NON_RETRIABLE' })
    // a CAS without `fences` leaves them; one with `fences` replaces them all
    await store.casRunState(runId, 1, { v: 2 })
    await store.append(runId, ev(runId, 4), { fence: { key: 't', token: 'T1' } })
    await store.casRunState(runId, 2, { v: 3 }, { fences: { s: 'L2' } })
    await expect(store.append(runId, ev(runId, 5), { fence: { key: 's', token: 'L1' } })).rejects.toMatchObject({ code: 'NON_RETRIABLE' })
    await expect(store.append(runId, ev(runId, 6), { fence: { key: 't', token: 'T1' } })).rejects.toMatchObject({ code: 'NON_RETRIABLE' })
    // a resent append (same idempotency key) still gets its first record
    expect(await store.append(runId, ev(runId, 1), { fence: { key: 's', token: 'L1' }, idempotencyKey: 'k1' })).toEqual(first)
    await store.casRunState(runId, 3, { v: 4 }, { finished: true, fences: {} })
    await expect(store.append(runId, ev(runId, 7), { fence: { key: 's', token: 'L2' } })).rejects.toMatchObject({ code: 'NON_RETRIABLE' })
    const stored = (await store.read(runId)).map((e) => (e.data as { i: number }).i)
    expect(stored).toEqual([1, 4])
  })

  it('`after`: an append is stored only once the append it names is; pipelined behind a failing one, neither is stored', async () => {
    const runId = 'r3'
    await expect(store.append(runId, ev(runId, 1), { idempotencyKey: 'second', after: 'first' })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    })
    // the first fails (too large), the second goes out behind it: nothing is stored
    const big = { kind: 'log', flow: runId, step: 's', data: { pad: 'x'.repeat(1024 * 1024 + 10) } }
    const [a, b] = await Promise.allSettled([
      store.append(runId, big, { idempotencyKey: 'first' }),
      store.append(runId, ev(runId, 2), { idempotencyKey: 'second', after: 'first' }),
    ])
    expect([a.status, b.status]).toEqual(['rejected', 'rejected'])
    expect(await store.read(runId)).toEqual([])
    const [first, second] = await Promise.all([
      store.append(runId, ev(runId, 3), { idempotencyKey: 'first' }),
      store.append(runId, ev(runId, 4), { idempotencyKey: 'second', after: 'first' }),
    ])
    expect((await store.read(runId)).map((e) => e.id)).toEqual([first.id, second.id])
  })

  it('race: fenced appends issued around a fence change; none is stored after the change', async () => {
    const runId = 'r2'
    await store.casRunState(runId, 0, { v: 1 }, { fences: { s: 'L1' } })
    // load the scripts first, so every command below goes out in issue order
    await store.append(runId, { kind: 'warm', flow: runId, data: null }, { fence: { key: 's', token: 'L1' } })
    for (let round = 0; round < 5; round++) {
      const token = `L${round + 1}`
      const fence = { key: 's', token }
      const before = Array.from({ length: 20 }, (_, i) => store.append(runId, ev(runId, round * 100 + i), { fence }).catch(refused))
      const change = store.casRunState(runId, round + 1, { v: round + 2 }, { fences: { s: `L${round + 2}` } })
      const marker = store.append(runId, { kind: 'marker', flow: runId, data: { round } })
      const after = Array.from({ length: 20 }, (_, i) => store.append(runId, ev(runId, round * 100 + 50 + i), { fence }).catch(refused))
      const [results, changed, mark, late] = await Promise.all([Promise.all(before), change, marker, Promise.all(after)])
      expect(changed).toMatchObject({ ok: true })
      expect(late.every((r) => r === 'refused')).toBe(true)
      const stored = (await store.read(runId, { limit: 10_000 })).filter((e) => e.kind === 'log')
      // whatever went through was stored before the fence changed (before the marker that followed it)
      for (const e of stored) expect(compareEventIds(e.id, mark.id)).toBeLessThan(0)
      expect(stored.some((e) => (e.data as { i: number }).i >= round * 100 + 50 && (e.data as { i: number }).i < round * 100 + 100)).toBe(
        false,
      )
      expect(results.filter((r) => r !== 'refused')).toHaveLength(20)
    }
  })
})

type Call = 'log' | 'emit' | 'state.set'

describe.each(factories)('runner: a worker whose lease was taken over cannot append (%s)', (_label, factory) => {
  let store: RunnerStore
  const { runners } = runnerHarness(factory, (s) => {
    store = s
  })

  for (const call of ['log', 'emit', 'state.set'] as const) {
    it(`${call}: the takeover lands between the lease check and the append; nothing is written`, async () => {
      const intercepted = deferred()
      const bRunning = deferred()
      const aSettled = deferred()
      let executions = 0
      const zombie = (ctx: StepContext, what: Call) => {
        if (what === 'log') ctx.logger.info('zombie')
        if (what === 'emit') return ctx.emit('zombie.emit', { from: 'zombie' })
        if (what === 'state.set') return ctx.state.set('owner', 'zombie')
        return undefined
      }
      const flow = defineFlow({
        name: 'fence',
        steps: {
          s: {
            handler: async (_i, ctx) => {
              if (++executions === 1) {
                await zombie(ctx, call)
                await new Promise(() => {}) // the "dead" worker never returns
              }
              bRunning.resolve()
              await aSettled.promise
              return 'second'
            },
          },
        },
      })
      const qa = capturingQueue()
      const qb = createMemoryQueue()
      let zombieAppend = 'not made'
      // worker A's store: its zombie append is held (a slow network call) while B takes over
      const held: RunnerStore = {
        ...store,
        append: async (runId: string, event: NewEvent, opts) => {
          const isZombie = event.kind === (call === 'log' ? 'log' : call === 'emit' ? 'zombie.emit' : 'state.set')
          if (!isZombie) return store.append(runId, event, opts)
          intercepted.resolve()
          await bRunning.promise
          try {
            const stored = await store.append(runId, event, opts)
            zombieAppend = 'stored'
            return stored
          } catch (err) {
            zombieAppend = isLeanflowError(err, 'NON_RETRIABLE') ? 'refused' : `failed: ${String(err)}`
            throw err
          } finally {
            aSettled.resolve()
          }
        },
      }
      runners.push(await startRunner(held, [flow], { queue: qa }))
      runners.push(await startRunner(store, [flow], { queue: qb }))
      const { runId } = await runners[0]!.startFlow('fence', {})
      await intercepted.promise
      const job = qa.delivered.find((j) => j.name === 'step')!
      await qb.enqueue({ id: job.id, name: job.name, data: job.data }) // B takes the step over (a stalled-job re-delivery)
      const end = await waitEnd(store, runId)
      expect(end.data).toMatchObject({ result: { s: 'second' } })
      // the zombie's append has settled (B waited for it), and was refused by the fence: nothing can land later
      await aSettled.promise
      expect(zombieAppend).toBe('refused')
      const log = await logOf(store, runId)
      const zombies = log.filter((e) => JSON.stringify(e.data).includes('zombie'))
      expect(zombies).toEqual([])
      expect(log.at(-1)?.kind).toBe('flow.completed')
    })
  }

  it('race: 20 runs whose step is taken over while it emits; no event of the old execution follows the takeover', async () => {
    const started = new Map<string, ReturnType<typeof deferred<void>>>()
    /** Settles when the old execution's handler has stopped emitting (refused or aborted). */
    const zombieDone = new Map<string, ReturnType<typeof deferred<void>>>()
    const flow = defineFlow({
      name: 'fenceRace',
      steps: {
        s: {
          handler: async (input: { k: number }, ctx) => {
            const first = !started.has(ctx.runId)
            if (first) {
              const reached = deferred<void>()
              started.set(ctx.runId, reached)
              const done = deferred<void>()
              zombieDone.set(ctx.runId, done)
              try {
                // emits until its emit is refused (it throws) or the signal aborts
                for (let i = 0; i < 100_000 && !ctx.signal.aborted; i++) {
                  if (i === 3 + (input.k % 5)) reached.resolve()
                  await ctx.emit('tick', { i })
                  await new Promise((r) => setImmediate(r))
                }
                return 'zombie'
              } finally {
                done.resolve()
              }
            }
            await ctx.await.time(new Date(0)) // the marker: step.await.time, appended by the new owner
            return 'second'
          },
        },
      },
    })
    const qa = capturingQueue()
    const qb = createMemoryQueue()
    runners.push(await startRunner(store, [flow], { queue: qa }))
    runners.push(await startRunner(store, [flow], { queue: qb }))
    const runIds = await Promise.all(Array.from({ length: 20 }, (_, k) => runners[0]!.startFlow('fenceRace', { k })))
    await Promise.all(
      runIds.map(async ({ runId }) => {
        while (!started.has(runId)) await new Promise((r) => setTimeout(r, 2))
        await started.get(runId)!.promise
        const job = qa.delivered.find((j) => j.name === 'step' && (j.data as { runId: string }).runId === runId)!
        await qb.enqueue({ id: job.id, name: job.name, data: job.data })
      }),
    )
    const problems: string[] = []
    for (const { runId } of runIds) {
      const end = await waitEnd(store, runId)
      expect(end.data).toMatchObject({ result: { s: 'second' } })
    }
    // every old execution has stopped (positive signal), so no tick of it can still be on its way
    await Promise.all(runIds.map(({ runId }) => zombieDone.get(runId)!.promise))
    for (const { runId } of runIds) {
      const log: EventRecord[] = await logOf(store, runId)
      const marker = log.findIndex((e) => e.kind === 'step.await.time')
      const late = log.slice(marker + 1).filter((e) => e.kind === 'tick')
      if (marker < 0 || late.length > 0) problems.push(`${runId}: marker at ${marker}, ${late.length} ticks after it`)
    }
    expect(problems).toEqual([])
  })
})
