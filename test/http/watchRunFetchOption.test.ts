// watchRun's `fetch` option must be a function: anything else is refused at the call (a typed
// INVALID_ARGUMENT), not swallowed by its requests, which then said only the stream's status.
import { isLeanflowError } from '@leanflow/core'
import { watchRun } from '@leanflow/http/client'
import { EventSource } from 'eventsource'
import { expect, it } from 'vitest'

it('a fetch that is no function is refused, naming what it got', () => {
  for (const fetch of ['https://api.example', 42, {}]) {
    const err = (() => {
      try {
        return watchRun('http://127.0.0.1:1/flows/runs/r1/stream', { EventSource, fetch: fetch as never })
      } catch (e) {
        return e
      }
    })()
    expect(isLeanflowError(err, 'INVALID_ARGUMENT'), String(err)).toBe(true)
    expect((err as Error).message).toBe(`watchRun: fetch must be a function, got ${typeof fetch}.`)
  }
})
