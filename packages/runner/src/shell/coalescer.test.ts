import { describe, expect, it } from 'vitest'
import { Coalescer } from './coalescer.js'

/** A run that records its batches (and when each began) and finishes when told. */
function recorder() {
  const batches: Array<[string, number[]]> = []
  const began: number[] = []
  const gates: Array<{ open: () => void; fail: (err: unknown) => void }> = []
  const run = (key: string, items: number[]) => {
    batches.push([key, items])
    began.push(performance.now())
    return new Promise<void>((open, fail) => gates.push({ open, fail }))
  }
  return { batches, began, gates, run }
}
/** Waits until `cond` holds (the coalescer rests between runs). */
async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 2))
  expect(cond()).toBe(true)
}

describe('Coalescer', () => {
  it('runs the first item at once, gathers the items that come meanwhile into the next run', async () => {
    const { batches, gates, run } = recorder()
    const c = new Coalescer(run)
    const done: number[] = []
    const adds = [1, 2, 3].map((n) => c.add('p', n).then(() => done.push(n)))
    expect(batches).toEqual([['p', [1]]])
    gates[0]?.open()
    await until(() => batches.length === 2)
    expect(done).toEqual([1])
    expect(batches).toEqual([
      ['p', [1]],
      ['p', [2, 3]],
    ])
    gates[1]?.open()
    await Promise.all(adds)
    expect(done).toEqual([1, 2, 3])
  })

  it('keys fly apart; an item added after a flight ended starts a new one at once', async () => {
    const { batches, gates, run } = recorder()
    const c = new Coalescer(run)
    const a = c.add('p', 1)
    const b = c.add('q', 2)
    expect(batches).toEqual([
      ['p', [1]],
      ['q', [2]],
    ])
    for (const g of gates) g.open()
    await Promise.all([a, b])
    await new Promise((r) => setTimeout(r, 5))
    const d = c.add('p', 3)
    expect(batches.at(-1)).toEqual(['p', [3]])
    gates[2]?.open()
    await d
  })

  it('a run that throws rejects the items it carried only; the next run goes on', async () => {
    const { batches, gates, run } = recorder()
    const c = new Coalescer(run)
    const first = c.add('p', 1)
    const second = c.add('p', 2)
    gates[0]?.fail(new Error('store down'))
    await expect(first).rejects.toThrow('store down')
    await until(() => batches.length === 2)
    expect(batches.at(-1)).toEqual(['p', [2]])
    gates[1]?.open()
    await expect(second).resolves.toBeUndefined()
  })

  it('takes at most `max` items per run', async () => {
    const { batches, gates, run } = recorder()
    const c = new Coalescer(run, 2)
    const adds = [1, 2, 3, 4, 5].map((n) => c.add('p', n))
    for (let i = 0; i < 3; i++) {
      await until(() => batches.length === i + 1)
      gates[i]?.open()
    }
    await Promise.all(adds)
    expect(batches.map(([, items]) => items)).toEqual([[1], [2, 3], [4, 5]])
  })

  it('rests between two runs of a key as long as the last one took (at most 20 ms) while items wait', async () => {
    const { batches, began, gates, run } = recorder()
    const c = new Coalescer(run)
    const adds = [1, 2].map((n) => c.add('p', n))
    await new Promise((r) => setTimeout(r, 40))
    gates[0]?.open()
    const ended = performance.now()
    await until(() => batches.length === 2)
    expect((began[1] as number) - ended).toBeGreaterThanOrEqual(19)
    gates[1]?.open()
    await Promise.all(adds)
  })

  it('goes without a rest when the items waiting are all the last run said were still to come', async () => {
    const began: number[] = []
    const gates: Array<() => void> = []
    const c = new Coalescer<number>((_key, items) => {
      began.push(performance.now())
      // two awaits still pending after the first run, none after the second
      return new Promise((open) => gates.push(() => open(items[0] === 1 ? 2 : 0)))
    })
    const adds = [1, 2, 3].map((n) => c.add('p', n))
    await new Promise((r) => setTimeout(r, 40))
    gates[0]?.()
    const ended = performance.now()
    await until(() => began.length === 2)
    expect((began[1] as number) - ended).toBeLessThan(15)
    gates[1]?.()
    await Promise.all(adds)
  })

  it('while more items are to come, waits a while after a run even with none waiting: the next ones that follow closely go together', async () => {
    const batches: number[][] = []
    const c = new Coalescer<number>(async (_key, items) => {
      batches.push(items)
      await new Promise((r) => setTimeout(r, 10))
      return 10 - batches.flat().length
    })
    await c.add('p', 1)
    // the run is over; 5 ms later (the I/O after it long gone) the key still holds its flight: these go in one run
    await new Promise((r) => setTimeout(r, 5))
    const later = [2, 3, 4].map((n) => c.add('p', n))
    await Promise.all(later)
    expect(batches).toEqual([[1], [2, 3, 4]])
  })
})
