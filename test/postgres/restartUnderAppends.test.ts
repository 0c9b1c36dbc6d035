// The Postgres example store while PostgreSQL restarts under a stream of appends, and the values
// PostgreSQL cannot hold: every failure a caller sees is a LeanflowError (no raw pg error, and no
// unhandled 'error' event of a checked-out pool client ending the process).
import { isLeanflowError, type LeanflowError } from '@leanflow/core'
import { uniqueName } from '@leanflow/testing'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { createPostgresStreamStore } from '../../examples/postgres-store/postgresStreamStore.js'
import { usePostgres } from '../helpers/postgresServer.js'
import { waitFor } from '../helpers/waitFor.js'

const pg = usePostgres()
let store: Awaited<ReturnType<typeof createPostgresStreamStore>>

beforeAll(async () => {
  store = await createPostgresStreamStore({ connectionString: pg.url, schema: uniqueName('r').toLowerCase(), poolSize: 4 })
})
afterAll(() => store.close())

it('appends and reads through restarts of PostgreSQL: failures are STORE_UNAVAILABLE, the process lives on, appends go on after them', async () => {
  const run = uniqueName('restart')
  const codes = new Map<string, number>()
  let n = 0
  let stop = false
  // reads (a pool.query) beside the transactions: a client a read released is handed to a waiting
  // transaction with no 'error' listener of the pool's, while the server's goodbye is on its way
  const readers = [0, 1, 2, 3].map(async () => {
    while (!stop) {
      try {
        await store.read(run, { limit: 5 })
        await store.now()
      } catch (err) {
        const code = isLeanflowError(err) ? (err as LeanflowError).code : `raw ${String(err)}`
        codes.set(code, (codes.get(code) ?? 0) + 1)
        await new Promise((r) => setTimeout(r, 20))
      }
    }
  })
  const writers = [0, 1, 2].map(async (w) => {
    while (!stop) {
      try {
        await store.append(run, { kind: 'k', flow: run, data: { w, n } }, { idempotencyKey: `k-${w}-${n}` })
        n++
      } catch (err) {
        const code = isLeanflowError(err) ? (err as LeanflowError).code : `raw ${String(err)}`
        codes.set(code, (codes.get(code) ?? 0) + 1)
        await new Promise((r) => setTimeout(r, 50))
      }
    }
  })
  await new Promise((r) => setTimeout(r, 300))
  const before = n
  for (let i = 0; i < 3; i++) {
    await pg.restart()
    await new Promise((r) => setTimeout(r, 300))
  }
  const after = n
  // appends go on after the restarts (the pool reconnects; a loaded machine takes longer than a quiet one)
  try {
    await waitFor(() => n > after, 'appends after the restarts', 30_000)
  } finally {
    stop = true
    await Promise.all([...writers, ...readers])
  }
  expect(before).toBeGreaterThan(0)
  expect([...codes.keys()].filter((c) => c !== 'STORE_UNAVAILABLE')).toEqual([])
  // nothing half-written: one event per key that answered, in order
  const events = await store.read(run)
  expect(new Set(events.map((e) => JSON.stringify(e.data))).size).toBe(events.length)
})

it('a value PostgreSQL cannot hold is INVALID_ARGUMENT naming it, and a version past the column matches nothing', async () => {
  const run = uniqueName('nul')
  await expect(store.append(run, { kind: 'k', flow: run, data: 1 }, { idempotencyKey: 'a\u0000b' })).rejects.toMatchObject({
    code: 'INVALID_ARGUMENT',
    message: expect.stringContaining('NUL'),
  })
  expect(await store.read(run)).toEqual([])
  await store.casRunState(run, 0, { n: 1 })
  expect(await store.casRunState(run, 2 ** 31, { n: 2 })).toMatchObject({ ok: false, current: { version: 1 } })
})
