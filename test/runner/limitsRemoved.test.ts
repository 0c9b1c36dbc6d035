// A deploy that removes a flow's run-level limits (concurrency, rate limit) or its debounce: the
// runs queued under the old definition run under the new one, and what the old one admitted gives
// its slot back when it ends on a new worker (design/flow-control.md, guarantees 1 and 2: no slot
// leaks, no queued run starves). Before, an `admit` job found no flow control in the new
// definition and did nothing: the queued runs stayed `queued` for ever, and the run that held the
// slot ended without releasing it. On a real redis-server; the queue outlives the first runner
// (as a BullMQ queue outlives a deploy).
import { createRedisStreamStore, type RedisStreamStore } from '@leanflow/redis'
import { createMemoryQueue, createRunner, defineFlow, type Runner } from '@leanflow/runner'
import { afterEach, expect, it } from 'vitest'
import { useRedisServer } from '../helpers/redisServer.js'
import { waitFor } from '../helpers/waitFor.js'

const redis = useRedisServer()
const open: Array<Runner | RedisStreamStore> = []
afterEach(async () => {
  for (const x of open.splice(0).reverse()) await ('stop' in x ? x.stop() : x.close())
})

const slow = async (input: { id: number }) => {
  await new Promise((r) => setTimeout(r, 150))
  return input.id
}
const OLD = {
  concurrency: defineFlow({ name: 'conc', concurrency: { limit: 1, key: () => 'k' }, steps: { a: { handler: slow } } }),
  rateLimit: defineFlow({ name: 'rate', rateLimit: { limit: 1, period: '1h' }, steps: { a: { handler: slow } } }),
  debounce: defineFlow({ name: 'deb', debounce: { period: '1s', key: () => 'k' }, steps: { a: { handler: slow } } }),
}
const KEPT = {
  // the next deploy keeps the debounce, drops the rate limit
  rateLimit: defineFlow({
    name: 'debrate',
    debounce: { period: '200ms', key: (input: { id: number }) => String(input.id) },
    rateLimit: { limit: 1, period: '1h' },
    steps: { a: { handler: slow } },
  }),
  debounce: defineFlow({
    name: 'debrate',
    debounce: { period: '200ms', key: (input: { id: number }) => String(input.id) },
    steps: { a: { handler: slow } },
  }),
}
const NEW = {
  concurrency: defineFlow({ name: 'conc', steps: { a: { handler: slow } } }),
  rateLimit: defineFlow({ name: 'rate', steps: { a: { handler: slow } } }),
  debounce: defineFlow({ name: 'deb', steps: { a: { handler: slow } } }),
}

for (const kind of ['concurrency', 'rateLimit', 'debounce'] as const) {
  it(`runs queued under a ${kind} that the next deploy removes run, and no slot is left held`, async () => {
    const prefix = `lrm${kind}`
    const store = createRedisStreamStore({ url: redis.url, prefix })
    const queue = createMemoryQueue()
    // a short drain: the run holding the slot is handed back mid-step, and ends on the new worker
    const before = createRunner({ store, queue, flows: [OLD[kind]], drainTimeoutMs: 20, onError: () => {} })
    open.push(store, before)
    await before.start()
    const ids: string[] = []
    for (let i = 0; i < 4; i++) ids.push((await before.startFlow(OLD[kind], { id: i })).runId)
    const runs = [...new Set(ids)] // a debounce folds the four calls into one run
    await new Promise((r) => setTimeout(r, 50))
    // the deploy: the old worker stops, the new one (the flow without the limit) takes the queue over
    await before.stop()
    const after = createRunner({ store, queue, flows: [NEW[kind]], onError: () => {} })
    open.push(after)
    await after.start()
    for (const runId of runs) await after.result(runId, { timeout: '20s' })
    // nothing is held or queued in the store's limits any more
    // (a rate window keeps counting the admission it made until the window passes: not a holder)
    const held = async () => (await store.limitUsage(OLD[kind].name)).filter((u) => u.kind === 'concurrency' || u.queued > 0)
    await waitFor(async () => (await held()).length === 0, 'the limits released', 5_000)
    expect(await store.limitHolders(OLD[kind].name)).toEqual([])
  }, 30_000)
}

it('a backlog of 250 runs queued in a burst (many in one millisecond) all run when a worker without the rate limit starts', async () => {
  const oldFlow = defineFlow({ name: 'burst', rateLimit: { limit: 1, period: '1h' }, steps: { a: { handler: async () => 1 } } })
  const newFlow = defineFlow({ name: 'burst', steps: { a: { handler: async () => 1 } } })
  const store = createRedisStreamStore({ url: redis.url, prefix: 'lrmburst' })
  const queue = createMemoryQueue()
  const before = createRunner({ store, queue, flows: [oldFlow], onError: () => {} })
  open.push(store, before)
  await before.start()
  const ids = (await Promise.all(Array.from({ length: 250 }, () => before.startFlow(oldFlow, {})))).map((r) => r.runId)
  await before.stop()
  const after = createRunner({ store, queue, flows: [newFlow], concurrency: 50, onError: () => {} })
  open.push(after)
  await after.start()
  await Promise.all(ids.map((runId) => after.result(runId, { timeout: '30s' })))
  expect(await store.listRuns('burst', { status: 'queued' })).toEqual([])
}, 60_000)

it('runs queued under a rate limit the next deploy drops, from a flow that keeps its debounce, run when a worker starts', async () => {
  const store = createRedisStreamStore({ url: redis.url, prefix: 'lrmdebrate' })
  const queue = createMemoryQueue()
  const before = createRunner({ store, queue, flows: [KEPT.rateLimit], onError: () => {} })
  open.push(store, before)
  await before.start()
  // four keys: four windows, then four runs for one rate slot an hour
  const ids = [...new Set(await Promise.all([0, 1, 2, 3].map(async (id) => (await before.startFlow(KEPT.rateLimit, { id })).runId)))]
  const byRate = async () => {
    const queued = await store.listRuns('debrate', { status: 'queued' })
    const docs = await Promise.all(queued.map((r) => store.getRunState<{ queued?: { reason: string } }>(r.runId)))
    return docs.filter((d) => d?.doc.queued?.reason === 'rateLimit').length
  }
  await waitFor(async () => (await byRate()) === 3, 'three runs queued by the rate limit')
  await before.stop()
  const after = createRunner({ store, queue, flows: [KEPT.debounce], onError: () => {} })
  open.push(after)
  await after.start()
  for (const runId of ids) await after.result(runId, { timeout: '10s' })
}, 30_000)
