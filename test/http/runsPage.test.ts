// Paging a flow's runs (`GET /:flow/runs`) with each page's `next` as the next `before`: runs that
// started in the same millisecond are neither lost nor shown twice, however a page cuts through
// them. Before, the only cursor was the last row's start time, and a page of 10 over 200 runs
// started at once showed about half of them (found by an HTTP probe). Through every transport,
// on the memory store (whose clock the test holds) and on a real redis-server.
import { createMemoryStreamStore, type RunSummary, type StreamStore } from '@leanflow/core'
import { createHandler } from '@leanflow/http'
import { createRedisStreamStore, type RedisStreamStore } from '@leanflow/redis'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { describeMatrix, errorOf, type MatrixTarget } from '../helpers/httpMatrix.js'
import { useRedisServer } from '../helpers/redisServer.js'

const started = (s: StreamStore, runId: string, name = 'burst') =>
  s.append(runId, { kind: 'flow.started', flow: runId, data: { name, input: null, steps: { a: { needs: [] } } } })

/**
 * Every run of `flow` through pages of `limit`, each page's `next` the next `before`: the ids in
 * order, and the pages read. `onPage` runs after each page is read, before the next is asked.
 */
async function pageAll(
  t: () => MatrixTarget,
  flow: string,
  limit: number,
  status = '',
  onPage: (runs: RunSummary[]) => Promise<void> = async () => {},
) {
  const ids: string[] = []
  let before: string | undefined
  for (let pages = 1; pages < 1000; pages++) {
    const q = new URLSearchParams({ limit: String(limit) })
    if (status) q.set('status', status)
    if (before !== undefined) q.set('before', before)
    const res = await t().fetch(`/flows/${flow}/runs?${q}`)
    expect(res.status).toBe(200)
    const page = (await res.json()) as { runs: RunSummary[]; next?: string }
    expect(page.runs.length).toBeLessThanOrEqual(limit)
    ids.push(...page.runs.map((r) => r.runId))
    await onPage(page.runs)
    if (page.next === undefined) return { ids, pages }
    before = page.next
  }
  throw new Error('no last page')
}

// 7 runs at ms T-1, 25 at T, 30 at T+1, then one at T+2: pages of 10 cut through each millisecond
const T = 1_800_000_000_000
let clock = T
const memory = createMemoryStreamStore({ now: () => clock })
const expected: string[] = []

beforeAll(async () => {
  for (const [ms, n] of [
    [T - 1, 7],
    [T, 25],
    [T + 1, 30],
    [T + 2, 1],
  ] as const) {
    clock = ms
    for (let i = 0; i < n; i++) {
      const id = `m${ms - T + 1}-${String(i).padStart(2, '0')}`
      await started(memory, id)
      expected.push(id)
    }
  }
  // 1,200 runs over two milliseconds: pages of 1,000 (the largest limit) cut through the first
  clock = T + 20
  for (let i = 0; i < 600; i++) await started(memory, `w20-${String(i).padStart(3, '0')}`, 'wide')
  clock = T + 21
  for (let i = 0; i < 600; i++) await started(memory, `w21-${String(i).padStart(3, '0')}`, 'wide')
  clock = T + 10
})

describeMatrix(
  'GET /:flow/runs pages with next',
  () => createHandler({ store: memory }),
  (t) => {
    it('pages of 10, 7 and 1 show every run once, newest millisecond first, until a page without next', async () => {
      for (const limit of [10, 7, 1]) {
        const { ids, pages } = await pageAll(t, 'burst', limit)
        expect([...ids].sort()).toEqual([...expected].sort())
        expect(new Set(ids).size).toBe(ids.length)
        // a last page that is full has a next (more may follow): one empty page then ends it
        expect(pages).toBe(Math.floor(expected.length / limit) + 1)
        const ms = (id: string) => Number(id.slice(1, id.indexOf('-')))
        expect(ids.map(ms)).toEqual([...ids.map(ms)].sort((a, b) => b - a))
      }
    })

    it("a run of the page shown that leaves the status list (it ended) takes no other run's place on the next page", async () => {
      // 30 running runs of one millisecond, a flow of this transport's own
      const flow = `tie-${t().transport}`
      const ids = Array.from({ length: 30 }, (_, i) => `${flow}-${String(i).padStart(2, '0')}`)
      clock = T + 5
      for (const id of ids) await started(memory, id, flow)
      clock = T + 10
      const page1 = (await (await t().fetch(`/flows/${flow}/runs?limit=10&status=running`)).json()) as { runs: RunSummary[]; next: string }
      expect(page1.runs).toHaveLength(10)
      // one shown run ends between the pages
      const ended = page1.runs[3]?.runId as string
      await memory.append(ended, { kind: 'flow.completed', flow: ended, data: { result: null } })
      const page2 = (await (await t().fetch(`/flows/${flow}/runs?limit=10&status=running&before=${page1.next}`)).json()) as {
        runs: RunSummary[]
      }
      const shown = [...page1.runs, ...page2.runs].map((r) => r.runId)
      expect(new Set(shown).size).toBe(20)
      // the 20 highest ids: the second page starts right after the first one's last run
      expect(shown).toEqual([...ids].sort().reverse().slice(0, 20))
    })

    it('pages of the largest limit (1,000) page on through a millisecond they cut: every run once', async () => {
      const { ids, pages } = await pageAll(t, 'wide', 1000)
      expect(ids).toHaveLength(1200)
      expect(new Set(ids).size).toBe(1200)
      expect(pages).toBe(2)
    })

    it('every run of each page leaves the status list before the next page is read: no run is lost', async () => {
      // the pages' rows skipped for the runs shown are fewer than those runs: a short read is no end
      const flow = `leave-${t().transport}`
      const ids = Array.from({ length: 30 }, (_, i) => `${flow}-${String(i).padStart(2, '0')}`)
      clock = T + 6
      for (const id of ids) await started(memory, id, flow)
      clock = T + 10
      // each page's runs end before the next page is read
      const { ids: shown } = await pageAll(t, flow, 3, 'running', async (runs) => {
        for (const r of runs) await memory.append(r.runId, { kind: 'flow.completed', flow: r.runId, data: { result: null } })
      })
      expect(shown).toEqual([...ids].sort().reverse())
    })

    it('a plain start time in before still works; a malformed before is 400 naming it', async () => {
      const res = await t().fetch(`/flows/burst/runs?limit=1000&before=${T}`)
      expect(((await res.json()) as { runs: RunSummary[] }).runs).toHaveLength(7)
      for (const bad of ['abc', `${T}~`, `${T}~a:b`, `x~${'a'}`, `${T}~5`, `${T}~5~a:b`, `${T}~99999~a`]) {
        const r = await t().fetch(`/flows/burst/runs?before=${encodeURIComponent(bad)}`)
        expect(r.status, bad).toBe(400)
        const err = await errorOf(r)
        expect(err.code).toBe('INVALID_ARGUMENT')
        expect(err.message).toContain('before=')
      }
    })
  },
)

const redis = useRedisServer()
let redisStore: RedisStreamStore
const burst: string[] = []

beforeAll(async () => {
  redisStore = createRedisStreamStore({ url: redis.url, prefix: 'rp' })
  // 300 runs started at once: many share a millisecond of the server's clock
  const ids = Array.from({ length: 300 }, (_, i) => `b${i}`)
  await Promise.all(ids.map((id) => started(redisStore, id)))
  burst.push(...ids)
})
afterAll(async () => {
  await redisStore?.close()
})

describeMatrix(
  'GET /:flow/runs pages with next on the Redis store',
  () => createHandler({ store: redisStore }),
  (t) => {
    it('300 runs started at once, in pages of 10 and of 7 (and of the running ones): every run once', async () => {
      for (const [limit, status] of [
        [10, ''],
        [7, ''],
        [10, 'running'],
      ] as const) {
        const { ids } = await pageAll(t, 'burst', limit, status)
        expect([...ids].sort()).toEqual([...burst].sort())
      }
    })
  },
  ['handler', 'node'],
)
