import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { type Cursor, nextCursor, pageQuery, pageRows } from './pageCursor.js'

interface Row {
  runId: string
  startedAt: string
}

/** The API's listRuns over `all`: newest first (ties in a fixed order, as a sorted set gives them), `before` exclusive. */
function listRuns(all: Row[], q: { before?: number; limit: number }): Row[] {
  return all
    .filter((r) => q.before === undefined || Date.parse(r.startedAt) < q.before)
    .sort((a, b) => Date.parse(b.startedAt) - Date.parse(a.startedAt) || (a.runId < b.runId ? 1 : -1))
    .slice(0, q.limit)
}

/** Every page of `all`, walked as the runs view does with Older. */
function walk(all: Row[], pageSize: number): Row[][] {
  const pages: Row[][] = []
  let cursor: Cursor | undefined
  for (let i = 0; i < all.length + 2; i++) {
    const page = pageRows(listRuns(all, pageQuery(cursor, pageSize)), cursor, pageSize)
    if (page.length === 0) break
    pages.push(page)
    cursor = nextCursor(page, cursor)
  }
  return pages
}

const rows = (ms: number[]) => ms.map((t, i) => ({ runId: `r${String(i).padStart(4, '0')}`, startedAt: new Date(t).toISOString() }))

describe('paging with before', () => {
  it('visits every run once, newest first, when many share the last millisecond of a page', () => {
    // 120 runs in one millisecond span three pages of 50, then older ones
    const all = rows([...Array(120).fill(5000), ...Array.from({ length: 30 }, (_, i) => 4000 - i)])
    const pages = walk(all, 50)
    expect(pages.map((p) => p.length)).toEqual([50, 50, 50])
    expect(pages.flat()).toEqual(listRuns(all, { limit: 1000 }))
  })

  it('asks for a page plus the rows it will drop, and nothing more', () => {
    expect(pageQuery(undefined, 50)).toEqual({ limit: 50 })
    expect(pageQuery({ before: 10, skip: ['a', 'b'] }, 50)).toEqual({ before: 10, limit: 52 })
    expect(nextCursor([], undefined)).toBeUndefined()
  })

  it('walks any set of start times without losing or repeating a run (while under 950 share one millisecond)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 40 }), { maxLength: 300 }), fc.integer({ min: 1, max: 60 }), (ms, pageSize) => {
        const all = rows(ms.map((m) => 1_000_000 + m))
        const pages = walk(all, pageSize)
        expect(pages.flat()).toEqual(listRuns(all, { limit: 1000 }))
        for (const p of pages.slice(0, -1)) expect(p).toHaveLength(pageSize)
      }),
    )
  })
})
