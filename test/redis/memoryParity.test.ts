// The memory store is for tests and quick starts, so it must answer every call as the Redis store
// does: random sequences of appends (every built-in kind, garbage data, repeated idempotency keys,
// three runs of two flows) played on both, then every read, listing and count compared, as JSON
// (the records' key order too: it is what HTTP and SSE send). The summary status each store keeps
// must be the reducer's status of the run's log.
import { createMemoryStreamStore, type EventRecord, type NewEvent, type RunSummary, reduceFlow, type StreamStore } from '@leanflow/core'
import { createRedisStreamStore } from '@leanflow/redis'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { useRedisServer } from '../helpers/redisServer.js'

const redis = useRedisServer()
const RUNS = ['r1', 'r2', 'r3']
const FLOWS = ['fa', 'fb']
const STATUSES = [undefined, 'queued', 'running', 'awaiting', 'completed', 'failed', 'canceled'] as const
const ts = fc.integer({ min: 0, max: 4_000_000_000_000 }).map((ms) => new Date(ms).toISOString())
const json = fc.jsonValue({ maxDepth: 2 })
const garbage = fc.oneof(fc.constant(null), fc.string(), fc.array(fc.integer(), { maxLength: 3 }), fc.integer())
const position = fc.oneof({ weight: 6, arbitrary: fc.nat({ max: 3 }) }, { weight: 1, arbitrary: fc.constantFrom('1', 1.5, -1) })
const awaitType = fc.constantFrom('time', 'event', 'trigger', 'run')
const dataByKind: Record<string, fc.Arbitrary<unknown>> = {
  'flow.started': fc.record(
    {
      name: fc.constantFrom(...FLOWS),
      input: json,
      steps: fc.constant({ a: { needs: [] }, b: { needs: ['a'] } }),
      version: fc.constantFrom(2, 0, 1.5, '3'),
      parent: fc.constantFrom({ runId: 'p', step: 's' }, { runId: 5 }, ['p', 's'], { runId: '', step: '' }),
    },
    { requiredKeys: ['name', 'input', 'steps'] },
  ),
  'flow.completed': fc.record({ result: json, duration: fc.nat() }, { requiredKeys: ['duration'] }),
  'flow.failed': fc.record({ error: fc.string(), duration: fc.nat() }),
  'flow.canceled': fc.record({ reason: fc.string() }, { requiredKeys: [] }),
  'flow.queued': fc.record({ reason: fc.constantFrom('concurrency', 'debounce'), key: fc.string() }, { requiredKeys: ['reason'] }),
  'flow.debounced': fc.record({ input: json }),
  'step.queued': fc.record({ reason: fc.constant('concurrency') }),
  'step.started': fc.record({ input: json, recovered: fc.boolean() }, { requiredKeys: [] }),
  'step.completed': fc.record({ result: json, duration: fc.nat() }, { requiredKeys: ['duration'] }),
  'step.failed': fc.record({ error: fc.string(), willRetry: fc.boolean(), nextRetryAt: ts }, { requiredKeys: ['error', 'willRetry'] }),
  'step.retry': fc.record({ reason: fc.string(), delayMs: fc.nat({ max: 100_000 }) }),
  'step.await.time': fc.record({ resumeAt: ts, position }, { requiredKeys: ['resumeAt'] }),
  'step.await.event': fc.record({ eventKind: fc.constant('x'), timeoutAt: ts, position }, { requiredKeys: ['eventKind'] }),
  'step.await.trigger': fc.record({ triggerId: fc.string({ minLength: 1 }), triggerType: fc.constant('webhook'), position }),
  'step.await.run': fc.record({ childRunId: fc.constant('c-1'), flow: fc.constant('invoice'), position }),
  'step.resumed': fc.record({ reason: fc.string(), awaitType, awaitDuration: fc.nat(), position }, { requiredKeys: ['reason'] }),
  'step.await.timeout': fc.record({ awaitType, timeoutAt: ts, position }, { requiredKeys: ['awaitType'] }),
  log: fc.record({ level: fc.constantFrom('info', 'loud'), msg: fc.string() }),
  'state.set': fc.record({ key: fc.constantFrom('k', '__proto__'), value: json }),
  'payment.confirmed': json,
}

interface Op {
  run: string
  kind: string
  data: unknown
  step: string | undefined
  attempt: number | undefined
  key: string | undefined
}
const op: fc.Arbitrary<Op> = fc.constantFrom(...Object.keys(dataByKind)).chain((kind) =>
  fc.record({
    run: fc.constantFrom(...RUNS),
    kind: fc.constant(kind),
    data: fc.oneof({ weight: 9, arbitrary: dataByKind[kind]! }, { weight: 1, arbitrary: garbage }),
    step: fc.option(fc.constantFrom('a', 'b', 'c'), { nil: undefined, freq: kind.startsWith('step.') ? 6 : 1 }),
    attempt: fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined }),
    key: fc.option(fc.constantFrom('k1', 'k2', 'k3'), { nil: undefined, freq: 2 }),
  }),
)

/** A record as JSON text without its store-given id and ts (key order kept). */
const body = (e: EventRecord) => JSON.stringify(e, (k, v) => (k === 'id' || k === 'ts' ? undefined : v))
/** A summary as JSON text (key order kept), its times only as present or not. */
const summary = (x: RunSummary) => JSON.stringify({ ...x, startedAt: typeof x.startedAt, completedAt: typeof x.completedAt })

/** Plays `ops` on `store`, then reads everything back. */
async function play(store: StreamStore, ops: readonly Op[]) {
  const appended: string[] = []
  for (const o of ops) {
    const event: NewEvent = { kind: o.kind, flow: o.run, data: o.data }
    if (o.step !== undefined) event.step = o.step
    if (o.attempt !== undefined) event.meta = { attempt: o.attempt }
    const opts = o.key === undefined ? undefined : { idempotencyKey: o.key }
    appended.push(await store.append(o.run, event, opts).then(body, (e: { code?: string }) => `error ${e.code}`))
  }
  const runs: Record<string, { events: string[]; followed: string[]; status: string; name?: string }> = {}
  for (const run of RUNS) {
    const events = await store.read(run)
    const back = await store.read(run, { direction: 'backward', limit: 2 })
    const followed: string[] = []
    if (events.length > 0) for await (const e of store.follow(run)) if (followed.push(body(e)) === events.length) break
    const state = reduceFlow(events)
    runs[run] = { events: [...events.map(body), ...back.map(body)], followed, status: state.status, name: state.name }
  }
  const lists: Record<string, string[]> = {}
  for (const flow of FLOWS)
    for (const status of STATUSES) lists[`${flow}/${status}`] = (await store.listRuns(flow, status && { status })).map(summary).sort()
  const counts = await Promise.all(FLOWS.map((f) => store.countRuns?.(f)))
  return { appended, runs, lists, counts, flows: await store.listFlows() }
}

describe('the memory store answers as the Redis store', () => {
  it('for any sequence of appends: records, reads, follows, listings, counts; the summary status is the reducer status', async () => {
    let n = 0
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 40 }), async (ops) => {
        const memory = createMemoryStreamStore()
        const redisStore = createRedisStreamStore({ url: redis.url, prefix: `parity${++n}` })
        try {
          const expected = await play(memory, ops)
          expect(await play(redisStore, ops)).toEqual(expected)
          for (const [run, { name, status }] of Object.entries(expected.runs)) {
            if (name === undefined) continue // never started: not listed
            expect(expected.lists[`${name}/${status}`], `${run} listed as ${status}`).toContainEqual(
              expect.stringContaining(`"runId":"${run}"`),
            )
          }
        } finally {
          await memory.close()
          await redisStore.close()
        }
      }),
      { numRuns: 150 },
    )
  })
})

describe('events whose JSON Lua cannot decode (a lone surrogate, deep nesting) or whose numbers it prints short', () => {
  let deep: unknown = 'bottom'
  for (let i = 0; i < 1100; i++) deep = [deep]
  const parent = { runId: 'p1', step: 's' }
  const cases: Record<string, Array<Omit<NewEvent, 'flow'>>> = {
    'a child whose input holds a lone surrogate keeps its parent': [
      { kind: 'flow.started', data: { name: 'fa', input: 'cut emoji \ud83d', steps: {}, parent } },
    ],
    'a child whose input nests 1,100 levels deep keeps its parent': [
      { kind: 'flow.started', data: { name: 'fa', input: deep, steps: {}, parent } },
    ],
    'a resume whose data holds a lone surrogate ends only its own await': [
      { kind: 'flow.started', data: { name: 'fa', input: null, steps: {} } },
      { kind: 'step.started', step: 'a', data: {} },
      { kind: 'step.await.trigger', step: 'a', data: { triggerId: 't1', payload: 'x', position: 0 } },
      { kind: 'step.await.time', step: 'a', data: { resumeAt: '2030-01-01T00:00:00.000Z', position: 1 } },
      { kind: 'step.resumed', step: 'a', data: { reason: 'time \udfff', position: 1 } },
    ],
    'an await with a lone surrogate in its payload ends at its resume': [
      { kind: 'flow.started', data: { name: 'fa', input: null, steps: {} } },
      { kind: 'step.started', step: 'a', data: {} },
      { kind: 'step.await.trigger', step: 'a', data: { triggerId: 't1', payload: 'x\udfff', position: 0 } },
      { kind: 'step.resumed', step: 'a', data: { reason: 'trigger', position: 0 } },
    ],
    'awaits at positions that differ past the 14th digit stay apart': [
      { kind: 'flow.started', data: { name: 'fa', input: null, steps: {} } },
      { kind: 'step.await.time', step: 'a', data: { position: 100000000000001 } },
      { kind: 'step.await.time', step: 'a', data: { position: 100000000000002 } },
      { kind: 'step.resumed', step: 'a', data: { position: 100000000000001 } },
    ],
  }
  let n = 0
  for (const [title, events] of Object.entries(cases))
    it(title, async () => {
      const memory = createMemoryStreamStore()
      const redisStore = createRedisStreamStore({ url: redis.url, prefix: `undecodable${++n}` })
      try {
        const answers = await Promise.all(
          [memory, redisStore].map(async (store) => {
            for (const e of events) await store.append('r', { ...e, flow: 'r' })
            const state = reduceFlow(await store.read('r'))
            const [run] = await store.listRuns('fa')
            return { reducer: state.status, listed: run?.status, parent: run?.parent, stateParent: state.parent }
          }),
        )
        expect(answers[0]!.listed).toBe(answers[0]!.reducer)
        expect(answers[1]).toEqual(answers[0])
      } finally {
        await memory.close()
        await redisStore.close()
      }
    })
})
