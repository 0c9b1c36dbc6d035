// Two services on one Redis prefix that each define an in-code schedule with the same id
// (design/schedules.md: ids are unique in the store). Before, each runner's start overwrote the
// other's definition, silently: the schedule flipped between flows, crons and inputs at every
// deploy. Now a runner never takes over a schedule of a flow it does not hold (the stored one
// stays; the runner reports it to onError, naming the id, both definitions and the fix), and a
// runner that replaces another in-code definition of a flow it holds (a deploy, or a clash) says
// so, with both definitions.
import { isLeanflowError } from '@leanflow/core'
import { createRedisStreamStore, type RedisStreamStore } from '@leanflow/redis'
import { createRunner, defineFlow, type FlowDefinition, type Runner } from '@leanflow/runner'
import { afterEach, describe, expect, it } from 'vitest'
import { useRedisServer } from '../helpers/redisServer.js'

const redis = useRedisServer()
let n = 0
const open: Array<{ runner: Runner; store: RedisStreamStore }> = []

afterEach(async () => {
  for (const { runner, store } of open.splice(0)) {
    await runner.stop()
    await store.close()
  }
})

/** A started runner of `flows` on the shared prefix, with the errors it reports. */
async function service(prefix: string, flows: FlowDefinition[]) {
  const errors: unknown[] = []
  const store = createRedisStreamStore({ url: redis.url, prefix })
  const runner = createRunner({ store, flows, onError: (err) => errors.push(err) })
  open.push({ runner, store })
  await runner.start()
  return { runner, errors }
}

const steps = { a: { handler: async () => 1 } }
const report = defineFlow({ name: 'report', schedules: [{ id: 'nightly', cron: '0 3 * * *', input: { full: true } }], steps })
const digest = defineFlow({
  name: 'digest',
  schedules: [{ id: 'nightly', cron: '*/5 * * * *', tz: 'Europe/Berlin', input: { short: true } }],
  steps,
})

const messages = (errors: unknown[]) => errors.map((e) => (e instanceof Error ? e.message : String(e)))

describe('one schedule id in the code of two services on one store', () => {
  it('of different flows: the first keeps it; the other reports the clash (id, both definitions, fix) and writes nothing', async () => {
    const prefix = `sid${++n}`
    const a = await service(prefix, [report])
    expect(a.errors).toEqual([])
    const b = await service(prefix, [digest])
    expect(b.errors).toHaveLength(1)
    expect(isLeanflowError(b.errors[0], 'INVALID_ARGUMENT')).toBe(true)
    const msg = messages(b.errors)[0] as string
    for (const part of [
      '"nightly"',
      '"report"',
      '"digest"',
      '0 3 * * *',
      '*/5 * * * *',
      'Europe/Berlin',
      '{"full":true}',
      '{"short":true}',
    ])
      expect(msg).toContain(part)
    expect(msg).toMatch(/another id/)
    expect(msg).toMatch(/schedules\.delete\('nightly'\)/)

    const [kept] = await b.runner.schedules.list()
    expect(kept).toMatchObject({ id: 'nightly', flow: 'report', cron: '0 3 * * *', tz: 'UTC' })
    // the first service starting again finds its own definition: nothing to report, nothing changes
    await open[0]?.runner.stop()
    const a2 = await service(prefix, [report])
    expect(a2.errors).toEqual([])
    expect((await a2.runner.schedules.list())[0]).toMatchObject({ flow: 'report', cron: '0 3 * * *' })
    // and the second one again: reported again, never taken over
    const b2 = await service(prefix, [digest])
    expect(messages(b2.errors)).toEqual([msg])
    expect((await b2.runner.schedules.list())[0]).toMatchObject({ flow: 'report', cron: '0 3 * * *' })
  })

  it("set refuses an id another runner's code defines; a runner's code replaces a stored schedule of another flow, and says so", async () => {
    const prefix = `sid${++n}`
    const a = await service(prefix, [report])
    const b = await service(prefix, [defineFlow({ name: 'digest', steps })])
    const refused = await b.runner.schedules.set({ id: 'nightly', flow: 'digest', every: '1h' }).catch((e: unknown) => e)
    expect(isLeanflowError(refused, 'INVALID_ARGUMENT')).toBe(true)
    expect((refused as Error).message).toMatch(/Schedule "nightly" is defined in code \(flow "report"\)/)
    expect((await a.runner.schedules.list())[0]).toMatchObject({ flow: 'report', cron: '0 3 * * *', source: 'code' })

    // a stored schedule first, of a flow the in-code runner does not hold: its code wins, loudly
    await b.runner.schedules.set({ id: 'weekly', flow: 'digest', every: '1h' })
    const weekly = defineFlow({ name: 'weekly-report', schedules: [{ id: 'weekly', cron: '0 4 * * 1' }], steps })
    const c = await service(prefix, [weekly])
    expect(messages(c.errors)).toHaveLength(1)
    expect(messages(c.errors)[0]).toMatch(
      /Schedule "weekly" was stored \(runner.schedules.set\) for flow "digest".*flow "digest" there, "weekly-report" here.*another id/,
    )
    const listed = await c.runner.schedules.list()
    expect(listed.find((x) => x.id === 'weekly')).toMatchObject({ flow: 'weekly-report', cron: '0 4 * * 1', source: 'code' })
    expect(a.errors).toEqual([])
  })

  it('of one flow: the code of the runner that starts wins (a deploy), and it reports what it replaced', async () => {
    const prefix = `sid${++n}`
    const mk = (cron: string, input: unknown) => defineFlow({ name: 'sync', schedules: [{ id: 'sync-all', cron, input }], steps })
    const a = await service(prefix, [mk('0 * * * *', { all: true })])
    await a.runner.schedules.pause('sync-all')
    const b = await service(prefix, [mk('*/15 * * * *', { all: false })])
    expect(b.errors).toHaveLength(1)
    const msg = messages(b.errors)[0] as string
    for (const part of ['"sync-all"', '0 * * * *', '*/15 * * * *', '{"all":true}', '{"all":false}', 'another id'])
      expect(msg).toContain(part)
    // replaced, its paused state kept (as across deploys)
    expect((await b.runner.schedules.list())[0]).toMatchObject({ flow: 'sync', cron: '*/15 * * * *', paused: true })
    // a replica of the same code starting finds the same definition: quiet
    const b2 = await service(prefix, [mk('*/15 * * * *', { all: false })])
    expect(b2.errors).toEqual([])
  })
})
