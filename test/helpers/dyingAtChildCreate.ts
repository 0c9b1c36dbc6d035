import { type CreateRunOptions, LeanflowError, type MemoryStreamStore, type NewEvent } from '@leanflow/core'

/**
 * `store` as seen by a worker that dies before creating its first child run: that `createRun`
 * fails (nothing written) and `die` stops the worker; `died` tells when it happened.
 */
export function dyingAtChildCreate(
  store: MemoryStreamStore,
  die: () => void,
  child = 'child',
): { store: MemoryStreamStore; died: boolean } {
  const out = { store: Object.create(store) as MemoryStreamStore, died: false }
  out.store.createRun = (async (runId: string, doc: unknown, first: NewEvent, opts: CreateRunOptions) => {
    if (!out.died && (first.data as { name?: string } | undefined)?.name === child) {
      out.died = true
      die()
      throw new LeanflowError('STORE_UNAVAILABLE', 'the invoking worker died before creating the child')
    }
    return store.createRun(runId, doc, first, opts)
  }) as MemoryStreamStore['createRun']
  return out
}
