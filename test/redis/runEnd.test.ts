// store.runEnd (the HTTP handler's end of a run, read from its summary) on the memory store and on
// a real redis-server: undefined for an unknown run and while a run goes on; once it ended, its
// first terminal event, whatever follows it (a step that completed after a cancel, a second
// terminal event, many events), also when written by appendMany and for a run without
// flow.started; a bad run id refused before any read.
import { createMemoryStreamStore, type NewEvent, type StreamStore } from '@leanflow/core'
import { createRedisStreamStore } from '@leanflow/redis'
import { afterEach, describe, expect, it } from 'vitest'
import { useRedisServer } from '../helpers/redisServer.js'

const redis = useRedisServer()
let n = 0
const opened: StreamStore[] = []
const STORES: Array<[string, () => StreamStore]> = [
  ['memory', () => createMemoryStreamStore()],
  ['redis', () => createRedisStreamStore({ url: redis.url, prefix: `re${n++}` })],
]

afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close()))
})

const ev = (run: string, kind: string, data: unknown = {}, step?: string): NewEvent => ({
  kind,
  flow: run,
  data,
  ...(step ? { step } : {}),
})

describe.each(STORES)('runEnd on the %s store', (_name, open) => {
  const store = () => {
    const s = open()
    opened.push(s)
    return s
  }

  it('is undefined for an unknown run and while the run goes on', async () => {
    const s = store()
    expect(await s.runEnd?.('no-such-run')).toBeUndefined()
    await s.append('r1', ev('r1', 'flow.started', { name: 'f', input: null, steps: { a: {} } }))
    await s.append('r1', ev('r1', 'step.started', { attempt: 1 }, 'a'))
    expect(await s.runEnd?.('r1')).toBeUndefined()
  })

  it('is the first terminal event, whatever follows it', async () => {
    const s = store()
    await s.append('r1', ev('r1', 'flow.started', { name: 'f', input: null, steps: { a: {} } }))
    await s.append('r1', ev('r1', 'step.started', { attempt: 1 }, 'a'))
    const end = await s.append('r1', ev('r1', 'flow.canceled', { reason: 'by hand' }))
    await s.append('r1', ev('r1', 'step.completed', { result: 1, attempt: 1 }, 'a'))
    await s.append('r1', ev('r1', 'flow.completed', { result: 1 }))
    for (let i = 0; i < 20; i++) await s.append('r1', ev('r1', 'step.log', { level: 'info', message: `later ${i}` }, 'a'))
    expect(await s.runEnd?.('r1')).toEqual({ id: end.id, kind: 'flow.canceled' })
  })

  it('is set by appendMany, and for a run without flow.started', async () => {
    const s = store()
    const [, failed] = await s.appendMany!('r2', [
      { event: ev('r2', 'flow.started', { name: 'f', input: null, steps: {} }) },
      { event: ev('r2', 'flow.failed', { error: { message: 'no' } }) },
      { event: ev('r2', 'step.log', { level: 'info', message: 'late' }, 'a') },
    ])
    expect(await s.runEnd?.('r2')).toEqual({ id: failed?.id, kind: 'flow.failed' })
    const done = await s.append('r3', ev('r3', 'flow.completed', { result: null }))
    expect(await s.runEnd?.('r3')).toEqual({ id: done.id, kind: 'flow.completed' })
  })

  it('refuses a bad run id', async () => {
    await expect(store().runEnd!('')).rejects.toMatchObject({ code: 'INVALID_NAME' })
  })
})
