// watchRun with callbacks that throw, against a real server (node:http) and the `eventsource`
// package: an `onEvent` or `onState` that throws on one event stops neither the watcher nor the
// other callbacks of that event (onState still runs after every event), its error reaches
// onError, and nothing escapes as an uncaught exception (which would end a Node process).
import { createMemoryStreamStore, reduceFlow } from '@leanflow/core'
import { createHandler } from '@leanflow/http'
import { type RunEnd, watchRun } from '@leanflow/http/client'
import { EventSource } from 'eventsource'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { type RunningServer, startServer } from '../helpers/httpMatrix.js'
import { waitFor } from '../helpers/waitFor.js'

const store = createMemoryStreamStore()
let server: RunningServer
const uncaught: unknown[] = []
const onUncaught = (err: unknown) => uncaught.push(err)

beforeAll(async () => {
  server = await startServer('node', createHandler({ store }))
  process.on('uncaughtException', onUncaught)
})
afterAll(async () => {
  process.off('uncaughtException', onUncaught)
  await server.stop()
})

it('a throwing onEvent or onState goes to onError; every event still reaches onState, then onEnd', async () => {
  const runId = 'throwing'
  await store.append(runId, { kind: 'flow.started', flow: runId, data: { name: 'f', input: null, steps: {} } })
  const states: string[] = []
  const errors: Error[] = []
  let events = 0
  let end: RunEnd | undefined
  watchRun(`${server.origin}/flows/runs/${runId}/stream`, {
    EventSource,
    onEvent: () => {
      if (++events === 2) throw new Error('onEvent broke')
    },
    onState: (s) => {
      states.push(s.lastEventId ?? '')
      if (states.length === 3) throw new Error('onState broke')
    },
    onEnd: (e) => {
      end = e
    },
    onError: (err) => errors.push(err),
  })
  await waitFor(() => states.length === 1, 'the backfill')
  for (let i = 0; i < 3; i++) await store.append(runId, { kind: 'user.note', flow: runId, data: { i } })
  await store.append(runId, { kind: 'flow.completed', flow: runId, data: { duration: 1 } })
  await waitFor(() => end !== undefined, 'the end')
  const log = await store.read(runId)
  expect(states).toEqual(log.map((e) => e.id))
  expect(errors.map((e) => e.message)).toEqual(['onEvent broke', 'onState broke'])
  expect(end?.kind).toBe('flow.completed')
  expect(reduceFlow(log).status).toBe('completed')
  expect(uncaught).toEqual([])
})
