import { describe, expect, it } from 'vitest'
import { LeanflowError } from './errors.js'
import { refuseAfterClose } from './refuseAfterClose.js'

const closedError = () => new LeanflowError('STORE_UNAVAILABLE', 'The store is closed: create a new one.')

describe('refuseAfterClose', () => {
  it("wraps a class's methods too, called on the store, and leaves follow and close alone", async () => {
    class MapStore {
      closed = false
      private readonly rows = ['still answering']
      async read() {
        return this.rows
      }
      follow() {
        return 'follow'
      }
      async close() {
        this.closed = true
      }
    }
    const map = new MapStore()
    const store = refuseAfterClose(map, () => map.closed, closedError)
    expect(await store.read()).toEqual(['still answering']) // `this` is the store
    await store.close()
    await expect(store.read()).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' })
    expect(store.follow()).toBe('follow')
    expect(Object.keys(store)).toEqual(['closed', 'rows']) // its methods stay off its keys
  })

  it('wraps a plain object’s methods as before', async () => {
    let closed = false
    const store = refuseAfterClose({ read: async () => 1, close: async () => void (closed = true) }, () => closed, closedError)
    expect(await store.read()).toBe(1)
    await store.close()
    await expect(store.read()).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' })
  })
})
