// watchRun's `fetch` option must be a function: anything else is refused at the call (a typed
// INVALID_ARGUMENT), not swallowed by its requests, which then said only the stream's status. So
// must its url be absolute where there is no page to resolve a path against (Node).
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

it('a url that is no absolute URL, in Node (no page to resolve a path against), is refused naming it and the fix', () => {
  for (const url of ['/flows/runs/r1/stream', 'flows/runs/r1/stream', 42]) {
    const err = (() => {
      try {
        return watchRun(url as string, { EventSource })
      } catch (e) {
        return e
      }
    })()
    expect(isLeanflowError(err, 'INVALID_ARGUMENT'), String(err)).toBe(true)
    expect((err as Error).message).toBe(
      `watchRun: url ${JSON.stringify(url)} is no absolute URL, and there is no page here to resolve a path against: pass one such as "http://localhost:3000/flows/runs/<runId>/stream".`,
    )
  }
})
