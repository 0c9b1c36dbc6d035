// createHandler's options that are not numbers, checked when the handler is made: a wrong one is
// INVALID_ARGUMENT naming it, never a TypeError (`basePath.trim is not a function`), a handler
// that answers 500 to every request (an `authorize` or a `runner` that is no such thing), one
// whose routes never match (a basePath with a query or a space), or one that silently accepts
// unsigned trigger calls (`triggerSecret: []`, say from an empty list of secrets).
import { createMemoryStreamStore, isLeanflowError } from '@leanflow/core'
import { createHandler, type HandlerOptions } from '@leanflow/http'
import { createRunner } from '@leanflow/runner'
import { describe, expect, it } from 'vitest'

const store = createMemoryStreamStore()

/** The INVALID_ARGUMENT createHandler throws for `extra`; its message. */
function refusal(extra: Record<string, unknown>): string {
  try {
    createHandler({ store, ...extra } as HandlerOptions)
  } catch (err) {
    expect(isLeanflowError(err, 'INVALID_ARGUMENT'), String(err)).toBe(true)
    return (err as Error).message
  }
  throw new Error(`createHandler accepted ${JSON.stringify(extra)}`)
}

describe('createHandler options', () => {
  it('triggerSecret: an empty list, or anything but non-empty strings, is refused (not "no signatures")', () => {
    for (const triggerSecret of [[], 5, [''], ['ok', 7]]) {
      expect(refusal({ triggerSecret })).toMatch(/triggerSecret must be a non-empty string/)
    }
    expect(() => createHandler({ store, triggerSecret: ['old', 'new'] })).not.toThrow()
  })

  it('basePath: a string of URL path characters', () => {
    for (const basePath of [5, '/flows?x=1', '/flows#top', '/my flows', '/flöws']) {
      expect(refusal({ basePath })).toMatch(/^Invalid createHandler basePath .*: pass a URL path/)
    }
    for (const basePath of ['/', '', 'flows', '/api/v1/flows/', '/a-b_c.d~e', '/x%20y', '/v1.2/flows', '/...'])
      expect(() => createHandler({ store, basePath })).not.toThrow()
    // a URL resolves dot segments before routing: no request could reach these
    for (const basePath of ['/api/../flows', '/api/./flows', '/api/%2e%2e/flows', '/api/%2E/flows', '/..', '/api/.. '])
      expect(refusal({ basePath })).toMatch(/: pass a path without '\.' or '\.\.' segments/)
  })

  it('authorize and onError: functions', () => {
    expect(refusal({ authorize: 'yes' })).toMatch(/^Invalid createHandler authorize "yes": pass a function/)
    expect(refusal({ authorize: true })).toMatch(/authorize/)
    expect(refusal({ onError: 5 })).toMatch(/^Invalid createHandler onError 5: pass a function/)
  })

  it('runner: an object with flows and the methods the routes call', () => {
    expect(refusal({ runner: 5 })).toMatch(/^Invalid createHandler runner 5: pass a runner from createRunner\(\)/)
    expect(refusal({ runner: null })).toMatch(/runner/)
    expect(refusal({ runner: {} })).toMatch(/has no flows/)
    expect(refusal({ runner: { flows: [], startFlow: async () => ({ runId: 'r' }) } })).toMatch(/has no cancel/)
    expect(() => createHandler({ store, runner: createRunner({ store, flows: [] }) })).not.toThrow()
  })
})
