import { it } from 'vitest'

/** What a store suite's factory gives: a fresh store per case, and the cases it is known to fail. */
export interface StoreSuiteFactory<S> {
  store(): Promise<S & { close?: () => Promise<void> }>
  knownGaps?: readonly string[]
}

/**
 * The `test` of a store suite: each case on a fresh store from `factory`, closed after it; a
 * case named in `knownGaps` is registered as `it.fails` (it must fail, so a fixed gap shows).
 */
export function storeTest<S>(factory: StoreSuiteFactory<S>): (title: string, fn: (s: S) => Promise<void>) => void {
  return (title, fn) => {
    const body = async () => {
      const s = await factory.store()
      try {
        await fn(s)
      } finally {
        await s.close?.()
      }
    }
    if (factory.knownGaps?.includes(title)) it.fails(title, body)
    else it(title, body)
  }
}
