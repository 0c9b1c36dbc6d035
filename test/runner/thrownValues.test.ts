// Whatever a handler throws fails its attempt and, attempts spent, the run, with a message in
// step.failed and flow.failed (DESIGN "Runner": every error retries until retry.attempts run
// out). Before, a thrown value the runner could not turn into a string — a null-prototype
// object, an Error whose message is not a string, a throwing toString or getter — failed the
// job instead of the attempt: the queue delivered it again and again and the run stayed running
// for good. A plain object's string `message` is its message, not "[object Object]", and a plain
// object without one reads as its JSON (`{"code":42}`).
import { isLeanflowError, reduceFlow } from '@leanflow/core'
import { defineFlow, type Runner, type RunnerStore } from '@leanflow/runner'
import { expect, it } from 'vitest'
import { describeOnStores } from '../fixtures/runnerOnStores.js'

const twice = { attempts: 2, backoff: { type: 'fixed' as const, delayMs: 10 } }
const throwers: Record<string, { value: () => unknown; message: string }> = {
  nullProto: { value: () => Object.assign(Object.create(null), { code: 'E1' }), message: '{"code":"E1"}' },
  badToString: {
    value: () => ({
      toString() {
        throw new Error('no')
      },
    }),
    message: '{}',
  },
  noMessage: { value: () => Object.assign(new Error(), { message: undefined }), message: 'Error' },
  plainMessage: { value: () => ({ message: 'card declined', code: 'E2' }), message: 'card declined' },
  hostile: {
    value: () =>
      new Proxy(
        {},
        {
          get() {
            throw new Error('trap')
          },
        },
      ),
    message: 'a thrown object that cannot be shown as text',
  },
  // its JSON, not "[object Object]" (the code was lost)
  plainObject: { value: () => ({ code: 42, retryable: false }), message: '{"code":42,"retryable":false}' },
  // no JSON either (a cycle): its String() form, as before
  cyclic: {
    value: () => {
      const o: Record<string, unknown> = { code: 43 }
      o.self = o
      return o
    },
    message: '[object Object]',
  },
  text: { value: () => 'plain text', message: 'plain text' },
  nothing: { value: () => null, message: 'null' },
}
const flows = Object.entries(throwers).map(([name, t]) =>
  defineFlow({
    name,
    steps: {
      s: {
        retry: twice,
        handler: async () => {
          throw t.value()
        },
      },
    },
  }),
)

async function outcome(runner: Runner, store: RunnerStore, flow: string) {
  const { runId } = await runner.startFlow(flow, {})
  const error = await runner.result(runId, { timeout: '10s' }).then(
    () => undefined,
    (e: unknown) => e,
  )
  return { error, events: await store.read(runId) }
}

describeOnStores({ flows, prefix: 'thrown' }, (runner, store) => {
  for (const [name, t] of Object.entries(throwers)) {
    it(`a handler that throws ${name}: retried, then the run fails with "${t.message}"`, async () => {
      const { error, events } = await outcome(runner(), store(), name)
      expect(isLeanflowError(error, 'RUN_FAILED'), String(error)).toBe(true)
      expect(events.map((e) => e.kind)).toEqual([
        'flow.started',
        'step.started',
        'step.failed',
        'step.retry',
        'step.started',
        'step.failed',
        'flow.failed',
      ])
      const state = reduceFlow(events)
      expect(state.steps.s).toMatchObject({ status: 'failed', attempt: 2, error: t.message })
      expect(state.error).toBe(t.message)
    })
  }
})
