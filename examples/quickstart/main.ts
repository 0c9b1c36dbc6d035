// The smallest leanflow program: append events to the in-memory store, follow them live,
// and fold them into the run's state with the same reducer a browser uses.
import { createMemoryStreamStore, reduceFlow } from '@leanflow/core'

const store = createMemoryStreamStore()
const runId = 'quickstart-1'
const controller = new AbortController()

const watching = (async () => {
  for await (const e of store.follow(runId, { signal: controller.signal })) {
    console.log(`${e.id}  ${e.kind}${e.step ? ` [${e.step}]` : ''}`)
    if (e.kind === 'flow.completed') break
  }
})()

await store.append(runId, {
  kind: 'flow.started',
  flow: runId,
  data: { name: 'hello', input: { who: 'world' }, steps: { greet: { needs: [] } } },
})
await store.append(runId, { kind: 'step.started', flow: runId, step: 'greet', data: {}, meta: { attempt: 1 } })
await store.append(runId, { kind: 'log', flow: runId, step: 'greet', data: { level: 'info', msg: 'greeting' } })
await store.append(runId, { kind: 'step.completed', flow: runId, step: 'greet', data: { result: 'hello, world', duration: 3 } })
await store.append(runId, { kind: 'flow.completed', flow: runId, data: { result: { greet: 'hello, world' }, duration: 5 } })
await watching

const state = reduceFlow(await store.read(runId))
console.log(JSON.stringify({ status: state.status, result: state.result, steps: state.steps }, null, 2))
await store.close()
