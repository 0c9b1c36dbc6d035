/**
 * docs/testing-your-flows.md's fake clocks: an idle started runner on the memory store keeps no
 * timer (its schedule ticker sleeps until the next due tick or a write of a schedule), so moving a
 * fake clock a week is a few timers, and `vi.runAllTimersAsync()` ends. Before, the ticker looked
 * every second: 604,800 timers for a week (about 5 s of real time), and `runAllTimers` gave up
 * after 10,000 ("assuming an infinite loop").
 */
import { createMemoryStreamStore } from '@leanflow/core'
import { createRunner, defineFlow, type Runner } from '@leanflow/runner'
import { afterEach, expect, it, vi } from 'vitest'

const HOUR = 3_600_000
const fake = () => vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] })

const reminder = defineFlow({
  name: 'reminder',
  steps: {
    wait: {
      handler: async (_input: { who: string }, ctx) => {
        await ctx.await.time('7d')
        return 'waited'
      },
    },
    send: { needs: ['wait'], handler: async (input: { who: string }) => `reminded ${input.who}` },
  },
})
const ticks: string[] = []
const hourly = defineFlow({ name: 'hourly', steps: { s: { handler: async (_i, ctx) => void ticks.push(ctx.runId) } } })

const runners: Runner[] = []
afterEach(async () => {
  for (const r of runners.splice(0)) await r.stop()
  vi.useRealTimers()
  ticks.length = 0
})

async function started(store = createMemoryStreamStore(), start = true) {
  const runner = createRunner({ store, flows: [reminder, hourly] })
  runners.push(runner)
  if (start) await runner.start()
  return { store, runner }
}

it('an idle started runner keeps no timer', async () => {
  fake()
  await started()
  await vi.advanceTimersByTimeAsync(10)
  expect(vi.getTimerCount()).toBe(0)
})

it("a week's await: a week of fake time is a few timers, and runAllTimersAsync ends (past the run's retention too)", async () => {
  fake()
  const { runner } = await started()
  const t0 = Date.now()
  const { runId } = await runner.startFlow('reminder', { who: 'ada' })
  await vi.advanceTimersByTimeAsync(7 * 24 * HOUR + 1000)
  expect(await runner.result(runId)).toEqual({ send: 'reminded ada' })
  expect(Date.now() - t0).toBeGreaterThanOrEqual(7 * 24 * HOUR)
  // what is left: the run's expiry at the end of its retention; running it ends
  await vi.runAllTimersAsync()
  expect(vi.getTimerCount()).toBe(0)
})

it('a schedule set by another runner on the same store wakes the started one: it ticks every hour of fake time', async () => {
  fake()
  const { store } = await started()
  const { runner: producer } = await started(store, false)
  await producer.schedules.set({ id: 'every-hour', flow: 'hourly', every: '1h' })
  await vi.advanceTimersByTimeAsync(3 * HOUR + 1000)
  expect(ticks).toHaveLength(3)
  await producer.schedules.pause('every-hour')
  await vi.advanceTimersByTimeAsync(3 * HOUR)
  expect(ticks).toHaveLength(3)
})

it("a memory store on a clock of the caller's (moved with no timer): the ticker still looks every second, so a moved clock ticks", async () => {
  let t = Date.parse('2026-01-01T00:00:00Z')
  const { runner } = await started(createMemoryStreamStore({ now: () => t }))
  await runner.schedules.set({ id: 'every-hour', flow: 'hourly', every: '1h' })
  await new Promise((r) => setTimeout(r, 300))
  const before = ticks.length
  t += HOUR + 1000
  const deadline = Date.now() + 5000
  while (ticks.length === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
  expect(ticks).toHaveLength(before + 1)
})

it('a clock stepped past a tick (setSystemTime; NTP or a resumed VM in production): the tick fires within a second of timers', async () => {
  fake()
  vi.setSystemTime(new Date('2026-01-01T00:00:30Z'))
  let runs = 0
  const stepped = defineFlow({
    name: 'stepped',
    schedules: [{ id: 'stepped-hourly', every: '1h' }],
    steps: { a: { handler: async () => void runs++ } },
  })
  const runner = createRunner({ store: createMemoryStreamStore(), flows: [stepped] })
  runners.push(runner)
  await runner.start()
  vi.setSystemTime(new Date('2026-01-01T01:00:01Z')) // the 01:00 tick is due now
  await vi.advanceTimersByTimeAsync(2000)
  expect(runs).toBe(1)
})
