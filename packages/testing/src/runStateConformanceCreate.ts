// RunStateStore conformance: createRun (a run's state and its first event, all or nothing).
// Registered by describeRunStateConformance, so it runs on every store that suite runs on.
import type { EventRecord, NewEvent } from '@leanflow/core'
import { expect, it } from 'vitest'
import type { FullStore } from './runStateConformance.js'
import { expectCode, uniqueName, within } from './streamStoreConformanceKit.js'

type WithStore = (fn: (s: FullStore) => Promise<void>) => () => Promise<void>

const started = (runId: string, flow: string, input: unknown = {}): NewEvent => ({
  kind: 'flow.started',
  flow: runId,
  data: { name: flow, input, steps: { a: { needs: [] } } },
})
const KEY = 'flow.started'

/** What a "writes nothing" claim is checked against: the run's state, its events and its index entry. */
async function expectNothing(s: FullStore, runId: string, flow: string): Promise<void> {
  expect(await s.getRunState(runId)).toBeNull()
  expect(await s.read(runId)).toEqual([])
  expect(await s.listRuns(flow)).toEqual([])
}

export function createRunConformance(withStore: WithStore): void {
  it(
    'createRun stores the state at version 1 and appends the first event (read back, listed, published live)',
    withStore(async (s) => {
      const runId = uniqueName()
      const flow = uniqueName('flow')
      const ac = new AbortController()
      const live: EventRecord[] = []
      const following = (async () => {
        for await (const e of s.follow(runId, { signal: ac.signal })) {
          live.push(e)
          break
        }
      })()
      const res = await s.createRun(runId, { status: 'running', n: 1 }, started(runId, flow, { x: 1 }), { idempotencyKey: KEY })
      expect(res.created).toBe(true)
      if (!res.created) return
      expect(res.version).toBe(1)
      expect(res.record).toMatchObject({ kind: 'flow.started', flow: runId, data: { name: flow, input: { x: 1 } } })
      expect(res.record.id).toMatch(/^\d+-\d+$/)
      expect(await s.getRunState(runId)).toEqual({ version: 1, doc: { status: 'running', n: 1 } })
      expect(await s.read(runId)).toEqual([res.record])
      expect(await s.listRuns(flow)).toEqual([{ runId, flow, status: 'running', startedAt: res.record.ts }])
      await within(following, 10_000, 'the live flow.started')
      ac.abort()
      expect(live).toEqual([res.record])
      // the event is stored under the idempotency key: an append with it returns the same record
      expect(await s.append(runId, started(runId, flow, { other: true }), { idempotencyKey: KEY })).toEqual(res.record)
      // the next compare-and-set goes from version 1
      expect(await s.casRunState(runId, 1, { status: 'running', n: 2 })).toEqual({ ok: true, version: 2 })
    }),
  )

  it(
    'a repeated createRun writes nothing and answers the stored state and record',
    withStore(async (s) => {
      const runId = uniqueName()
      const flow = uniqueName('flow')
      const first = await s.createRun(runId, { n: 1 }, started(runId, flow, { try: 1 }), { idempotencyKey: KEY })
      expect(first.created).toBe(true)
      const again = await s.createRun(runId, { n: 2 }, started(runId, flow, { try: 2 }), { idempotencyKey: KEY })
      expect(again).toEqual({ created: false, current: { version: 1, doc: { n: 1 } }, record: first.record })
      expect(await s.read(runId)).toEqual([first.record])
      expect(await s.getRunState(runId)).toEqual({ version: 1, doc: { n: 1 } })
    }),
  )

  it(
    '25 concurrent createRun of one run id: exactly one creates, the others get its state and record',
    withStore(async (s) => {
      const runId = uniqueName()
      const flow = uniqueName('flow')
      const all = await Promise.all(
        Array.from({ length: 25 }, (_, i) => s.createRun(runId, { w: i }, started(runId, flow, { w: i }), { idempotencyKey: KEY })),
      )
      const winners = all.filter((r) => r.created)
      expect(winners).toHaveLength(1)
      const w = all.findIndex((r) => r.created)
      const record = winners[0]!.record
      expect(record.data).toMatchObject({ input: { w } })
      for (const r of all) if (!r.created) expect(r).toEqual({ created: false, current: { version: 1, doc: { w } }, record })
      expect(await s.read(runId)).toEqual([record])
      expect(await s.getRunState(runId)).toEqual({ version: 1, doc: { w } })
      expect((await s.listRuns(flow)).map((x) => x.runId)).toEqual([runId])
    }),
  )

  it(
    'an over-size first event is refused (PAYLOAD_TOO_LARGE) and writes neither the state nor the event',
    withStore(async (s) => {
      const runId = uniqueName()
      const flow = uniqueName('flow')
      const big = 'x'.repeat(1024 * 1024 + 10)
      await expectCode(
        s.createRun(runId, { n: 1 }, started(runId, flow, { big }), { idempotencyKey: KEY }),
        'PAYLOAD_TOO_LARGE',
        'createRun with a first event over 1 MiB',
      )
      await expectNothing(s, runId, flow)
      // nothing half-written: the same run can be created afterwards
      const ok = await s.createRun(runId, { n: 2 }, started(runId, flow), { idempotencyKey: KEY })
      expect(ok.created).toBe(true)
      expect(await s.getRunState(runId)).toEqual({ version: 1, doc: { n: 2 } })
    }),
  )

  it(
    'bad input (a run id, a kind, a document that is not JSON, no idempotency key, no event, a reserved flow name) is refused before anything is written',
    withStore(async (s) => {
      const runId = uniqueName()
      const flow = uniqueName('flow')
      await expectCode(
        s.createRun('bad id', {}, started('bad id', flow), { idempotencyKey: KEY }),
        'INVALID_NAME',
        "createRun of run id 'bad id'",
      )
      await expectCode(
        s.createRun(runId, {}, { kind: 'bad kind', flow: runId, data: {} }, { idempotencyKey: KEY }),
        'INVALID_NAME',
        "createRun of an event of kind 'bad kind'",
      )
      const cyclic: Record<string, unknown> = {}
      cyclic.self = cyclic
      await expectCode(
        s.createRun(runId, cyclic, started(runId, flow), { idempotencyKey: KEY }),
        'INVALID_ARGUMENT',
        'createRun of a cyclic state',
      )
      await expectCode(
        s.createRun(runId, {}, started(runId, flow), { idempotencyKey: '' }),
        'INVALID_ARGUMENT',
        "createRun idempotencyKey ''",
      )
      await expectCode(
        s.createRun(runId, {}, started(runId, flow), { idempotencyKey: undefined as never }),
        'INVALID_ARGUMENT',
        'createRun idempotencyKey undefined',
      )
      await expectCode(s.createRun(runId, {}, null as never, { idempotencyKey: KEY }), 'INVALID_EVENT', 'createRun of the event null')
      await expectCode(
        s.createRun(runId, {}, { kind: 'flow.started', flow: runId, data: { name: 'runs' } }, { idempotencyKey: KEY }),
        'INVALID_NAME',
        "createRun of flow.started with the reserved flow name 'runs'",
      )
      await expectCode(
        s.createRun(runId, undefined, started(runId, flow), { idempotencyKey: KEY }),
        'INVALID_ARGUMENT',
        'createRun of the state undefined',
      )
      // an option key createRun does not take (`fence` for `fences`) is refused naming it, not dropped: the run would start unfenced
      const misspelt = await expectCode(
        s.createRun(runId, {}, started(runId, flow), { idempotencyKey: KEY, fence: { a: 'lease-1' } } as never),
        'INVALID_ARGUMENT',
        'createRun with the unknown option key fence ({ idempotencyKey, fence })',
      )
      expect((misspelt as Error).message, 'createRun with the unknown option key fence: the message names the key').toContain('fence')
      // fences casRunState would refuse (a number token would match the string '1')
      for (const fences of [{ a: 1 }, 'lease', ['lease'], null])
        await expectCode(
          s.createRun(runId, {}, started(runId, flow), { idempotencyKey: KEY, fences: fences as never }),
          'INVALID_ARGUMENT',
          `createRun with the fences ${JSON.stringify(fences)}`,
        )
      await expectNothing(s, runId, flow)
    }),
  )

  it(
    'bad input is refused even when the run exists: every check comes before the lookup',
    withStore(async (s) => {
      const runId = uniqueName()
      const flow = uniqueName('flow')
      expect((await s.createRun(runId, { n: 1 }, started(runId, flow), { idempotencyKey: KEY })).created).toBe(true)
      const cyclic: Record<string, unknown> = {}
      cyclic.self = cyclic
      await expectCode(
        s.createRun(runId, cyclic, started(runId, flow), { idempotencyKey: KEY }),
        'INVALID_ARGUMENT',
        'createRun of a cyclic state, for a run that exists',
      )
      await expectCode(
        s.createRun(runId, { n: 2 }, { ...started(runId, flow), meta: [] as never }, { idempotencyKey: KEY }),
        'INVALID_EVENT',
        'createRun of an event with meta [], for a run that exists',
      )
      expect(await s.getRunState(runId)).toEqual({ version: 1, doc: { n: 1 } })
    }),
  )

  it(
    'a run that has a state but no first event, or the first event but no state, is answered as it is and left alone',
    withStore(async (s) => {
      const flow = uniqueName('flow')
      const stateOnly = uniqueName()
      await s.casRunState(stateOnly, 0, { old: true })
      expect(await s.createRun(stateOnly, { n: 1 }, started(stateOnly, flow), { idempotencyKey: KEY })).toEqual({
        created: false,
        current: { version: 1, doc: { old: true } },
        record: null,
      })
      expect(await s.read(stateOnly)).toEqual([])

      const eventOnly = uniqueName()
      const e = await s.append(eventOnly, started(eventOnly, flow, { old: true }), { idempotencyKey: KEY })
      expect(await s.createRun(eventOnly, { n: 1 }, started(eventOnly, flow), { idempotencyKey: KEY })).toEqual({
        created: false,
        current: null,
        record: e,
      })
      expect(await s.getRunState(eventOnly)).toBeNull()
      expect(await s.read(eventOnly)).toEqual([e])
    }),
  )

  it(
    'createRun sets the fences with the state: fenced appends hold only the stored token',
    withStore(async (s) => {
      const runId = uniqueName()
      const flow = uniqueName('flow')
      const res = await s.createRun(runId, { n: 1 }, started(runId, flow), { idempotencyKey: KEY, fences: { a: 'lease-1' } })
      expect(res.created).toBe(true)
      const log = { kind: 'log', flow: runId, step: 'a', data: { level: 'info', msg: 'hi' } }
      const ok = await s.append(runId, log, { fence: { key: 'a', token: 'lease-1' } })
      await expectCode(
        s.append(runId, log, { fence: { key: 'a', token: 'lease-2' } }),
        'NON_RETRIABLE',
        "append fenced by a token fence 'a' does not hold",
        'state',
      )
      await expectCode(
        s.append(runId, log, { fence: { key: 'b', token: 'lease-1' } }),
        'NON_RETRIABLE',
        "append fenced by fence 'b', which the run does not hold",
        'state',
      )
      expect((await s.read(runId)).map((x) => x.id)).toEqual([res.record!.id, ok.id])
    }),
  )

  it(
    'casRunState sets the fences with the document, replacing them all; a write without fences keeps them',
    withStore(async (s) => {
      const runId = uniqueName()
      const flow = uniqueName('flow')
      await s.createRun(runId, { n: 1 }, started(runId, flow), { idempotencyKey: KEY, fences: { a: 'lease-1' } })
      const log = (msg: string) => ({ kind: 'log', flow: runId, step: 'a', data: { level: 'info', msg } })
      const fence = (key: string, token: string) => ({ fence: { key, token } })
      // the runner's step claim: a new lease for a, b fenced too
      expect(await s.casRunState(runId, 1, { n: 2 }, { fences: { a: 'lease-2', b: 'lease-3' } })).toEqual({ ok: true, version: 2 })
      await expectCode(
        s.append(runId, log('old lease'), fence('a', 'lease-1')),
        'NON_RETRIABLE',
        "append fenced by the old token of fence 'a'",
        'state',
      )
      const ok = [await s.append(runId, log('new lease'), fence('a', 'lease-2')), await s.append(runId, log('b'), fence('b', 'lease-3'))]
      // a write without fences leaves them as they are
      expect(await s.casRunState(runId, 2, { n: 3 })).toEqual({ ok: true, version: 3 })
      ok.push(await s.append(runId, log('still'), fence('a', 'lease-2')))
      // a write that leaves a fence out drops it (a step's end drops its lease), keeping the others
      expect(await s.casRunState(runId, 3, { n: 4 }, { fences: { b: 'lease-3' } })).toEqual({ ok: true, version: 4 })
      await expectCode(
        s.append(runId, log('a left out'), fence('a', 'lease-2')),
        'NON_RETRIABLE',
        "append fenced by fence 'a', dropped by casRunState",
        'state',
      )
      ok.push(await s.append(runId, log('b kept'), fence('b', 'lease-3')))
      // fences: {} drops them all (the run's end)
      expect(await s.casRunState(runId, 4, { n: 5 }, { fences: {} })).toEqual({ ok: true, version: 5 })
      await expectCode(
        s.append(runId, log('after the end'), fence('b', 'lease-3')),
        'NON_RETRIABLE',
        'append fenced after casRunState set fences: {}',
        'state',
      )
      expect((await s.read(runId)).slice(1).map((x) => x.id)).toEqual(ok.map((x) => x.id))
    }),
  )

  it(
    'appendMany behind a fence: stored while the fence holds the token, refused whole (NON_RETRIABLE, nothing written) when not',
    withStore(async (s) => {
      if (!s.appendMany) return
      const runId = uniqueName()
      const flow = uniqueName('flow')
      const res = await s.createRun(runId, { n: 1 }, started(runId, flow), { idempotencyKey: KEY, fences: { a: 'lease-1' } })
      const log = (msg: string) => ({ event: { kind: 'log', flow: runId, step: 'a', data: { level: 'info', msg } }, idempotencyKey: msg })
      const ok = await s.appendMany(runId, [log('one'), log('two')], { fence: { key: 'a', token: 'lease-1' } })
      await expectCode(
        s.appendMany(runId, [log('three'), log('four')], { fence: { key: 'a', token: 'lease-2' } }),
        'NON_RETRIABLE',
        "appendMany fenced by a token fence 'a' does not hold",
        'state',
      )
      expect((await s.read(runId)).map((x) => x.id)).toEqual([res.record!.id, ...ok.map((x) => x.id)])
    }),
  )
}
