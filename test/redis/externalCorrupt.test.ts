// Entries written by hand into an external-event stream (`<prefix>:{events}:k:<kind>`, F16): a
// match skips, counts and reports them (`onCorrupt`, `stats.corruptEntries`), and the real
// events of the kind still match, whether published before the await registers (F9) or after.
// Before, one such entry made every match of the kind throw INTERNAL (a RangeError or a
// SyntaxError: `publishEvent` and `POST /events` failed, awaits timed out) until retention
// trimmed it, or ended the scan silently (a sequence of 0 or ''), for days.
import type { CorruptEntryInfo } from '@leanflow/redis'
import { createRedisStreamStore, type RedisStreamStore } from '@leanflow/redis'
import { createRunner, defineFlow, type Runner } from '@leanflow/runner'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { useRedisServer } from '../helpers/redisServer.js'

const redis = useRedisServer()
const prefix = 'extbad'
const reported: CorruptEntryInfo[] = []
let store: RedisStreamStore
let runner: Runner
let raw: Redis

/** Per order, what the step waits for before it registers its await (the F9 window). */
const gates = new Map<string, Promise<void>>()
const paid = defineFlow({
  name: 'paid',
  steps: {
    wait: {
      handler: async (input: { order: string }, ctx) => {
        await gates.get(input.order)
        return (await ctx.await.event({ kind: `paid.${input.order}`, match: { 'data.order': input.order }, timeout: '20s' })).data
      },
    },
  },
})
/** Every malformed shape a probe wrote by hand: no fields of the store's, data no JSON, no sequence, a sequence of '' or 0. */
const BAD: string[][] = [
  ['x', '1'],
  ['d', 'notjson', 's', '999999', 'm', '1'],
  ['d', '{"order":"o"}'],
  ['s', '', 'm', '1', 'd', '{}'],
  ['s', '0', 'm', '1', 'd', '{}'],
  // data nested 5,000 deep (the runner stores no value past 512): whoever copied it overflowed its stack
  ['s', '999998', 'm', '1', 'd', `{"order":"o","x":${'['.repeat(5000)}${']'.repeat(5000)}}`],
]
const writeBad = async (kind: string, shapes = BAD) => {
  for (const fields of shapes) await raw.xadd(`${prefix}:{events}:k:${kind}`, '*', ...fields)
}

beforeAll(async () => {
  raw = new Redis(redis.url)
  store = createRedisStreamStore({ url: redis.url, prefix, onCorrupt: (i) => reported.push(i) })
  runner = createRunner({ store, flows: [paid], onError: () => {} })
  await runner.start()
})
afterAll(async () => {
  await runner?.stop()
  await store?.close()
  raw?.disconnect()
})

it('an event published before the await registers matches past malformed entries of its kind (F9), which are reported', async () => {
  const before = store.stats.corruptEntries
  let open = () => {}
  gates.set('o1', new Promise<void>((r) => (open = r)))
  const { runId } = await runner.startFlow(paid, { order: 'o1' })
  await runner.publishEvent({ kind: 'paid.o1', data: { order: 'o1', n: 1 } })
  await writeBad('paid.o1')
  open()
  expect(await runner.result(runId, { timeout: '15s' })).toEqual({ wait: { order: 'o1', n: 1 } })
  expect(store.stats.corruptEntries - before).toBeGreaterThanOrEqual(BAD.length)
  expect(reported.filter((r) => r.eventKind === 'paid.o1').map((r) => r.runId)).toContain('')
  expect(reported.find((r) => r.eventKind === 'paid.o1' && /"d" field/.test(r.reason))).toBeDefined()
  expect(reported.find((r) => r.eventKind === 'paid.o1' && /nests more than 2048 levels deep/.test(r.reason))).toBeDefined()
})

it('a hand-written entry numbered before the real event it follows (s 1) does not end the scan (F9): reported, the event matches', async () => {
  // events of another kind first: the real one's sequence number is above 1
  for (let i = 0; i < 3; i++) await runner.publishEvent({ kind: 'other.kind', data: { i } })
  let open = () => {}
  gates.set('o3', new Promise<void>((r) => (open = r)))
  const { runId } = await runner.startFlow(paid, { order: 'o3' })
  await runner.publishEvent({ kind: 'paid.o3', data: { order: 'o3', n: 3 } })
  await writeBad('paid.o3', [['s', '1', 'm', '1', 'd', '{}']])
  open()
  expect(await runner.result(runId, { timeout: '15s' })).toEqual({ wait: { order: 'o3', n: 3 } })
  expect(reported.find((r) => r.eventKind === 'paid.o3' && /below an older entry/.test(r.reason))).toBeDefined()
})

it('an event published after the await, behind malformed entries: publishEvent answers, the await matches', async () => {
  const { runId } = await runner.startFlow(paid, { order: 'o2' })
  await waitAwait(runId)
  // the newest entries before the event throw when decoded (a sequence of 0 would end the scan first)
  await writeBad('paid.o2', BAD.slice(0, 3))
  const published = await runner.publishEvent({ kind: 'paid.o2', data: { order: 'o2', n: 2 } })
  expect(published.id).toMatch(/^\d+-\d+$/)
  expect(await runner.result(runId, { timeout: '15s' })).toEqual({ wait: { order: 'o2', n: 2 } })
})

async function waitAwait(runId: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if ((await store.read(runId)).some((e) => e.kind === 'step.await.event')) return
    await new Promise((r) => setTimeout(r, 25))
  }
  throw new Error('no step.await.event')
}
