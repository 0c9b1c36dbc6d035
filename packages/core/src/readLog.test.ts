import { describe, expect, it } from 'vitest'
import { createMemoryStreamStore } from './memoryStreamStore.js'
import { readLog } from './readLog.js'
import { reduceFlow } from './reduceFlow.js'

describe('readLog', () => {
  it('reads a log longer than one read page whole: its fold is the run as it ended, not cut at 1,000 events', async () => {
    const store = createMemoryStreamStore()
    const runId = 'long'
    await store.append(runId, { flow: runId, kind: 'flow.started', data: { name: 'f', input: null, steps: { work: { needs: [] } } } })
    await store.append(runId, { flow: runId, kind: 'step.started', step: 'work', data: {} })
    for (let i = 0; i < 1200; i++)
      await store.append(runId, { flow: runId, kind: 'log', step: 'work', data: { level: 'info', msg: `line ${i}` } })
    await store.append(runId, { flow: runId, kind: 'step.completed', step: 'work', data: { result: 'done', duration: 1 } })
    await store.append(runId, { flow: runId, kind: 'flow.completed', data: { result: { work: 'done' }, duration: 1 } })
    // one read is one page: its fold is still running
    expect(reduceFlow(await store.read(runId)).status).toBe('running')
    const log = await readLog(store, runId)
    expect(log).toHaveLength(1204)
    expect(new Set(log.map((e) => e.id)).size).toBe(1204)
    expect(reduceFlow(log)).toMatchObject({ status: 'completed', result: { work: 'done' } })
    expect(await readLog(store, 'unknown')).toEqual([])
    await store.close()
  })
})
