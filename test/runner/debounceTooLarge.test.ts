// A debounced call whose input cannot be stored (its flow.debounced would pass the store's
// maxEventBytes) is refused before anything is written. Before, the window took the input first:
// the caller got PAYLOAD_TOO_LARGE, yet the run executed with the refused input (its log without
// that call's flow.debounced), and a retry with the call's idempotency key answered
// `deduplicated: true`.
import { STORE_DEFAULTS } from '@leanflow/core'
import { defineFlow } from '@leanflow/runner'
import { expect, it } from 'vitest'
import { describeOnStores } from '../fixtures/runnerOnStores.js'
import { codeOf } from '../helpers/errorCode.js'

const ran: number[] = []
const notify = defineFlow({
  name: 'notify',
  debounce: { period: '300ms', key: (input: { user: string; text: string }) => input.user },
  steps: {
    send: {
      handler: async (input: { user: string; text: string }) => {
        ran.push(input.text.length)
        return input.text.length
      },
    },
  },
})

describeOnStores({ flows: [notify], prefix: 'debbig' }, (runner, store) => {
  it('the refused call changes nothing: the run goes with the last stored input; a retry is refused again', async () => {
    ran.length = 0
    const first = await runner().startFlow('notify', { user: 'ann', text: 'hi' }, { idempotencyKey: 'c1' })
    const big = { user: 'ann', text: 'x'.repeat(STORE_DEFAULTS.maxEventBytes - 60) }
    expect(await codeOf(runner().startFlow('notify', big, { idempotencyKey: 'c2' }))).toBe('PAYLOAD_TOO_LARGE')
    expect(await codeOf(runner().startFlow('notify', big, { idempotencyKey: 'c2' }))).toBe('PAYLOAD_TOO_LARGE')
    expect(await runner().result(first.runId, { timeout: '10s' })).toEqual({ send: 2 })
    expect(ran).toEqual([2])
    expect((await store().read(first.runId)).map((e) => e.kind)).not.toContain('flow.debounced')
  })
})
