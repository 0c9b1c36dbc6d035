// The memory store and the Redis store refuse the same bad calls with the same error, word for
// word (code and message): a user who moves from one to the other, or reads the docs' messages,
// meets no other text. The shared wording is core's (`eventIdOption`, `runTooLong`, `historyGone`).
import { createMemoryStreamStore, type EventRecord, type StreamStore } from '@leanflow/core'
import { createRedisStreamStore } from '@leanflow/redis'
import { afterAll, describe, expect, it } from 'vitest'
import { useRedisServer } from '../helpers/redisServer.js'

const redis = useRedisServer()
const closers: Array<() => Promise<void>> = []
afterAll(async () => {
  for (const c of closers) await c()
})

let n = 0
/** Both stores, with the same limit, and the same run id in each. */
function pair(maxEventsPerRun = 5) {
  const memory = createMemoryStreamStore({ maxEventsPerRun })
  const onRedis = createRedisStreamStore({ url: redis.url, prefix: `parity${++n}`, maxEventsPerRun })
  closers.push(
    () => memory.close(),
    () => onRedis.close(),
  )
  return { memory, redis: onRedis, runId: `r${n}` }
}

/** What a call refused with: its code and message (or 'ok'). */
async function refusal(call: () => Promise<unknown>): Promise<string> {
  try {
    await call()
    return 'ok'
  } catch (err) {
    return `${(err as { code?: string }).code}: ${(err as Error).message}`
  }
}

/** The first `next()` of a follow, as a refusal. */
const firstOf = (it: AsyncIterable<EventRecord>) => it[Symbol.asyncIterator]().next()

describe('the memory and Redis stores refuse alike', () => {
  it('event id options that are no stream id, in read and follow', async () => {
    const { memory, redis: r, runId } = pair()
    for (const s of [memory, r]) await s.append(runId, { kind: 'note', flow: runId, data: 1 })
    const cases: Array<(s: StreamStore) => Promise<unknown>> = [
      (s) => s.read(runId, { after: 'x' }),
      (s) => s.read(runId, { before: '1-2-3' }),
      (s) => s.read(runId, { after: '18446744073709551616-0' }),
      (s) => s.read(runId, { before: '0-18446744073709551616' }),
      (s) => s.read(runId, { after: 5 as unknown as string }),
      async (s) => firstOf(s.follow(runId, { after: 'nope' })),
      async (s) => firstOf(s.follow(runId, { after: '99999999999999999999-0' })),
    ]
    for (const call of cases) {
      const [a, b] = [await refusal(() => call(memory)), await refusal(() => call(r))]
      expect(a).toMatch(/^INVALID_ARGUMENT: (read|follow) "(after|before)" /)
      expect(b, String(call)).toBe(a)
    }
  })

  it('a run past maxEventsPerRun, by append and by appendMany, names what was held and the fix', async () => {
    const { memory, redis: r, runId } = pair(5)
    for (const s of [memory, r]) for (let i = 0; i < 2; i++) await s.append(runId, { kind: 'note', flow: runId, data: i })
    const batch = [1, 2, 3, 4].map((i) => ({ event: { kind: 'note', flow: runId, data: i } }))
    const many = [await refusal(() => memory.appendMany!(runId, batch)), await refusal(() => r.appendMany!(runId, batch))]
    expect(many[0]).toBe(
      `RUN_TOO_LONG: Run "${runId}" holds 2 events and a batch of 4 appends does not fit behind them (maxEventsPerRun 5): append fewer at once, finish the run and continue in a new one, or raise maxEventsPerRun. Nothing was written.`,
    )
    expect(many[1]).toBe(many[0])
    for (const s of [memory, r]) for (let i = 2; i < 5; i++) await s.append(runId, { kind: 'note', flow: runId, data: i })
    const one = [
      await refusal(() => memory.append(runId, { kind: 'note', flow: runId, data: 9 })),
      await refusal(() => r.append(runId, { kind: 'note', flow: runId, data: 9 })),
    ]
    expect(one[0]).toBe(
      `RUN_TOO_LONG: Run "${runId}" already holds 5 events, its limit (maxEventsPerRun 5): finish the run and continue in a new one, or raise maxEventsPerRun. Nothing was written.`,
    )
    expect(one[1]).toBe(one[0])
  })

  it('a follow from a position the run does not hold: past its last event, or of a run with no events', async () => {
    const { memory, redis: r, runId } = pair()
    const ids = []
    for (const s of [memory, r]) ids.push((await s.append(runId, { kind: 'note', flow: runId, data: 1 })).id)
    const past = '99999999999999-0'
    const beyond = [
      await refusal(() => firstOf(memory.follow(runId, { after: past }))),
      await refusal(() => firstOf(r.follow(runId, { after: past }))),
    ]
    expect(beyond[0]).toMatch(/^HISTORY_GONE: Run "r\d+" has no event "99999999999999-0" or later/)
    expect(beyond[1]).toBe(beyond[0])
    const none = [
      await refusal(() => firstOf(memory.follow('unknown-run', { after: '1-0' }))),
      await refusal(() => firstOf(r.follow('unknown-run', { after: '1-0' }))),
    ]
    expect(none[0]).toMatch(/^HISTORY_GONE: Run "unknown-run" has no events left to follow after "1-0"/)
    expect(none[1]).toBe(none[0])
  })

  it('a misspelt option key (which would drop what it asked for) is refused, naming it, and nothing is written', async () => {
    const { memory, redis: r, runId } = pair()
    const bad = <T>(o: Record<string, unknown>) => o as T
    const cases: Array<[string, (s: StreamStore) => Promise<unknown>]> = [
      ['append', (s) => s.append(runId, { kind: 'note', flow: runId, data: 1 }, bad({ idempotencyKe: 'k' }))],
      [
        'appendMany',
        (s) => s.appendMany!(runId, [{ event: { kind: 'note', flow: runId, data: 1 } }], bad({ fense: { key: 'f', token: 't' } })),
      ],
      ['read', (s) => s.read(runId, bad({ from: '1-0' }))],
      ['follow', async (s) => firstOf(s.follow(runId, bad({ form: '1-0' })))],
      ['listRuns', (s) => s.listRuns('order', bad({ statuss: 'failed' }))],
      ['appendMany item', (s) => s.appendMany!(runId, [{ event: { kind: 'note', flow: runId, data: 1 } }, bad({ evnt: {} })])],
    ]
    for (const [name, call] of cases) {
      const [a, b] = [await refusal(() => call(memory)), await refusal(() => call(r))]
      expect(a, name).toMatch(/^INVALID_ARGUMENT: \w+ (options|item 1) has an unknown option "\w+": pass only /)
      expect(b, name).toBe(a)
    }
    // an item that is no { event } names its place in the batch
    const nul = [
      await refusal(() => memory.appendMany!(runId, [null as never])),
      await refusal(() => r.appendMany!(runId, [null as never])),
    ]
    expect(nul[0]).toBe(
      'INVALID_ARGUMENT: appendMany item 0 must be an object { event, idempotencyKey? }, got null: wrap each event as { event }.',
    )
    expect(nul[1]).toBe(nul[0])
    // a hole of a sparse array is an item too (map() skipped it: a raw TypeError)
    const sparse = [
      { event: { kind: 'note', flow: runId, data: 1 } },
      undefined as never,
      { event: { kind: 'note', flow: runId, data: 2 } },
    ]
    delete sparse[1]
    const holes = [await refusal(() => memory.appendMany!(runId, sparse)), await refusal(() => r.appendMany!(runId, sparse))]
    expect(holes[0]).toBe(
      'INVALID_ARGUMENT: appendMany item 1 must be an object { event, idempotencyKey? }, got nothing: wrap each event as { event }.',
    )
    expect(holes[1]).toBe(holes[0])
    // the run-state port's options too: a misspelt key published the event twice, a mistyped one kept a document for good
    const pub = (s: typeof memory | typeof r) => s.publishExternal('paid', { n: 1 }, bad({ idempotencyKe: 'p1' }))
    const pubs = [await refusal(() => pub(memory)), await refusal(() => pub(r))]
    expect(pubs[0]).toBe('INVALID_ARGUMENT: publishExternal options has an unknown option "idempotencyKe": pass only idempotencyKey.')
    expect(pubs[1]).toBe(pubs[0])
    for (const [opts, says] of [
      [{ finised: true }, 'has an unknown option "finised"'],
      [{ finished: 'yes' }, 'casRunState finished'],
      [{ json: 5 }, 'casRunState json'],
      [{ fences: { a: 1 } }, 'casRunState fences'],
    ] as const) {
      const cas = [
        await refusal(() => memory.casRunState('cas1', 0, { v: 1 }, bad(opts))),
        await refusal(() => r.casRunState('cas1', 0, { v: 1 }, bad(opts))),
      ]
      expect(cas[0]).toMatch(/^INVALID_ARGUMENT: /)
      expect(cas[0]).toContain(says)
      expect(cas[1]).toBe(cas[0])
    }
    for (const s of [memory, r]) expect(await s.getRunState('cas1')).toBeNull()
    const first = { kind: 'flow.started', flow: runId, data: { name: 'order' } }
    const create = (s: typeof memory | typeof r) => s.createRun(runId, { v: 1 }, first, bad({ idempotencyKye: 'fs' }))
    const created = [await refusal(() => create(memory)), await refusal(() => create(r))]
    expect(created[0]).toBe('INVALID_ARGUMENT: createRun options has an unknown option "idempotencyKye": pass only idempotencyKey, fences.')
    expect(created[1]).toBe(created[0])
    for (const s of [memory, r]) {
      expect(await s.read(runId)).toEqual([])
      expect(await s.getRunState(runId)).toBeNull()
    }
  })
})
