import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { createMemoryStreamStore, type EventRecord, type MemoryStreamStore, type NewEvent } from '@leanflow/core'
import { describeStreamStoreConformance } from '@leanflow/testing'
import { describe, expect, it } from 'vitest'
import { memoryStoreInternals } from '../../packages/core/src/memoryStreamStore.js'
import { codeOf } from '../helpers/errorCode.js'

// the memory store's live channel is its doorbell: the fault drops its rings for the run, as a
// lost subscription drops published messages (followers must catch up from the entries)
describeStreamStoreConformance('memory', async (opts) => createMemoryStreamStore(opts), {
  faults: {
    cutLive: async (store, runId) => {
      const restore = memoryStoreInternals(store as MemoryStreamStore).cutBell(runId)
      return async () => restore()
    },
  },
})

const ev = (run: string, kind: string, data: unknown = null): NewEvent => ({ kind, flow: run, data })
const started = (run: string, name: string): NewEvent => ({ kind: 'flow.started', flow: run, data: { name, input: null, steps: {} } })
const completed = (run: string): NewEvent => ({ kind: 'flow.completed', flow: run, data: { duration: 1 } })

describe('createMemoryStreamStore: the injected clock', () => {
  it('makes ids and ts from the clock, and keeps ids increasing when it goes backwards', async () => {
    let t = 1_700_000_000_000
    const store = createMemoryStreamStore({ now: () => t })
    const a = await store.append('r1', ev('r1', 'a'))
    const b = await store.append('r1', ev('r1', 'b'))
    t += 5
    const c = await store.append('r1', ev('r1', 'c'))
    t -= 1000 // the clock jumps back
    const d = await store.append('r1', ev('r1', 'd'))
    const e = await store.append('r2', ev('r2', 'e')) // another run starts from the clock
    expect([a.id, b.id, c.id, d.id]).toEqual(['1700000000000-0', '1700000000000-1', '1700000000005-0', '1700000000005-1'])
    expect(a.ts).toBe(new Date(1_700_000_000_000).toISOString())
    expect(d.ts).toBe(c.ts)
    expect(e.id).toBe('1699999999005-0')
    expect(memoryStoreInternals(store).now()).toBe(t)
    await store.close()
  })

  it('expires finished runs by the clock: read, listRuns, listFlows, follow, and the onRunExpired hook', async () => {
    let t = 1_000_000
    const store = createMemoryStreamStore({ now: () => t, retention: '1h' })
    const runs = memoryStoreInternals(store)
    const expired: string[] = []
    const off = runs.onRunExpired((id) => expired.push(id))
    await store.append('done', started('done', 'order'))
    const last = await store.append('done', completed('done'))
    await store.append('open', started('open', 'order'))
    t += 3_600_000 - 1
    expect(runs.has('done')).toBe(true)
    expect((await store.listFlows()).find((f) => f.flow === 'order')).toEqual({ flow: 'order', runs: 2 })
    t += 1
    expect(await store.read('done')).toEqual([])
    expect(runs.has('done')).toBe(false)
    expect(expired).toEqual(['done'])
    expect((await store.listRuns('order')).map((r) => r.runId)).toEqual(['open'])
    expect(await store.listFlows()).toEqual([{ flow: 'order', runs: 1 }])
    expect(await codeOf(store.follow('done', { after: last.id })[Symbol.asyncIterator]().next())).toBe('HISTORY_GONE')
    t += 10 * 86_400_000
    expect(runs.has('open')).toBe(true) // running runs never expire
    off()
    // the id can be used again, from scratch
    const again = await store.append('done', ev('done', 'x'))
    expect(again.id).toBe(`${t}-0`)
    await store.close()
  })

  it('defaults retention to 7 days and accepts ms or duration strings', async () => {
    let t = 0
    for (const [retention, ms] of [
      [undefined, 7 * 86_400_000],
      [500, 500],
      ['2d', 2 * 86_400_000],
    ] as const) {
      t = 1000
      const store = createMemoryStreamStore({ now: () => t, retention })
      await store.append('r', completed('r'))
      t += ms - 1
      expect((await store.read('r')).length).toBe(1)
      t += 1
      expect(await store.read('r')).toEqual([])
      await store.close()
    }
  })
})

describe('createMemoryStreamStore: isolation of stored data', () => {
  it('copies data on append: callers cannot change stored events', async () => {
    const store = createMemoryStreamStore()
    const data = { list: [1, 2], nested: { a: 1 } }
    const rec = await store.append('r', ev('r', 'a', data))
    data.list.push(3)
    data.nested.a = 99
    ;(rec.data as { list: number[] }).list.push(4)
    const [read] = await store.read('r')
    expect(read!.data).toEqual({ list: [1, 2], nested: { a: 1 } })
    ;(read!.data as { list: number[] }).list.push(5)
    const [followed] = await first(store.follow('r'))
    expect(followed!.data).toEqual({ list: [1, 2], nested: { a: 1 } })
    await store.close()
  })

  it('stores undefined data as null and Dates as their JSON', async () => {
    const store = createMemoryStreamStore()
    const a = await store.append('r', { kind: 'a', flow: 'r', data: undefined })
    const b = await store.append('r', ev('r', 'b', { at: new Date(0) }))
    expect(a.data).toBeNull()
    expect(b.data).toEqual({ at: '1970-01-01T00:00:00.000Z' })
    expect((await store.read('r')).map((e) => e.data)).toEqual([null, { at: '1970-01-01T00:00:00.000Z' }])
    await store.close()
  })

  it('refuses what cannot be stored, before writing', async () => {
    const store = createMemoryStreamStore()
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    expect(await codeOf(store.append('r', ev('r', 'a', cyclic)))).toBe('INVALID_EVENT')
    expect(await codeOf(store.append('r', ev('r', 'a', { n: 1n })))).toBe('INVALID_EVENT')
    expect(await codeOf(store.append('r', { kind: 'a', flow: 'r', data: 1, meta: 'x' as never }))).toBe('INVALID_EVENT')
    expect(await codeOf(store.append('r', ev('r', 'a'), { idempotencyKey: '' }))).toBe('INVALID_ARGUMENT')
    expect(await codeOf(store.append('r', { kind: 'flow.started', flow: 'r', data: { name: 'a:b' } }))).toBe('INVALID_NAME')
    expect(await codeOf(store.append('r', { kind: 'flow.started', flow: 'r', data: null }))).toBe('INVALID_NAME')
    expect(await store.read('r')).toEqual([])
    await store.close()
  })
})

describe('createMemoryStreamStore: options and arguments', () => {
  it('refuses bad options and read/list arguments with INVALID_ARGUMENT', async () => {
    expect(await codeOf(() => createMemoryStreamStore({ retention: 'soon' }))).toBe('INVALID_ARGUMENT')
    expect(await codeOf(() => createMemoryStreamStore({ maxEventBytes: 0 }))).toBe('INVALID_ARGUMENT')
    expect(await codeOf(() => createMemoryStreamStore({ maxEventsPerRun: 1.5 }))).toBe('INVALID_ARGUMENT')
    const store = createMemoryStreamStore()
    expect(await codeOf(store.read('r', { after: 'x' }))).toBe('INVALID_ARGUMENT')
    expect(await codeOf(store.read('r', { limit: 0 }))).toBe('INVALID_ARGUMENT')
    expect(await codeOf(store.read('r', { direction: 'up' as never }))).toBe('INVALID_ARGUMENT')
    expect(await codeOf(store.read('a:b'))).toBe('INVALID_NAME')
    expect(await codeOf(store.listRuns('a:b'))).toBe('INVALID_NAME')
    expect(await codeOf(store.listRuns('f', { status: 'done' as never }))).toBe('INVALID_ARGUMENT')
    expect(await codeOf(() => store.follow('r', { after: '1' }))).toBe('INVALID_ARGUMENT')
    await store.close()
  })
})

describe('createMemoryStreamStore: followers release what they hold', () => {
  it('after break, abort and close, no follower stays subscribed', async () => {
    const store = createMemoryStreamStore()
    const runs = memoryStoreInternals(store)
    await store.append('r', ev('r', 'a'))
    await first(store.follow('r'))
    expect(runs.followerCount()).toBe(0)
    const ac = new AbortController()
    const iter = store.follow('r', { signal: ac.signal })[Symbol.asyncIterator]()
    await iter.next()
    const waiting = iter.next()
    expect(runs.followerCount()).toBe(1)
    ac.abort()
    expect((await waiting).done).toBe(true)
    expect(runs.followerCount()).toBe(0)
    const open = store.follow('r')[Symbol.asyncIterator]()
    await open.next()
    const pending = open.next()
    expect(runs.followerCount()).toBe(1)
    await store.close()
    expect((await pending).done).toBe(true)
    expect(runs.followerCount()).toBe(0)
  })

  it('a retention timer does not keep a Node process alive', async () => {
    const coreIndex = fileURLToPath(new URL('../../packages/core/src/index.ts', import.meta.url))
    const script = `
      const { createMemoryStreamStore } = await import(${JSON.stringify(coreIndex)})
      const store = createMemoryStreamStore()
      await store.append('r', { kind: 'flow.completed', flow: 'r', data: { duration: 1 } })
      console.log('appended')`
    const out = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { timeout: 60_000 }, (err, stdout, stderr) =>
        err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout),
      )
    })
    expect(out.trim()).toBe('appended')
  })
})

describe('createMemoryStreamStore: after close', () => {
  it('every port refuses with STORE_UNAVAILABLE, as a Redis store made from a URL does', async () => {
    const store = createMemoryStreamStore()
    await store.append('r', started('r', 'order'))
    await store.casRunState('r', 0, { status: 'running' })
    await store.close()
    await store.close() // a second close resolves
    for (const call of [
      () => store.appendMany?.('r', [{ event: ev('r', 'late') }]),
      () => store.runEnd?.('r'),
      () => store.countRuns?.('order'),
      () => store.getRunState('r'),
      () => store.casRunState('r', 1, { status: 'done' }),
      () => store.publishExternal('payment.confirmed', { n: 1 }),
      () => store.casSchedule('nightly', 0, { cron: '0 3 * * *' }, 0),
      () => store.dueSchedules(0, 10),
      () => store.limitUsage('k'),
      () => store.now(),
    ]) {
      expect(await codeOf(call), String(call)).toBe('STORE_UNAVAILABLE')
    }
    const err = await store.read('r').catch((e: unknown) => e)
    expect(String((err as Error).message)).toMatch(/closed.*createMemoryStreamStore/)
  })
})

async function first(iterable: AsyncIterable<EventRecord>): Promise<EventRecord[]> {
  for await (const e of iterable) return [e]
  return []
}
