// The shared helpers of the LimitStore conformance suite (limitStoreConformance.ts and its parts).
import type { LimitAnswer, LimitNeed, LimitRequest, LimitStore, LimitUsage } from '@leanflow/core'
import { expect } from 'vitest'

/** The scope the cases use. */
export const SCOPE = 'sync'
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
/** How far the store's clock may be from this process's `Date.now()`, and a timer late, in ms. */
export const SKEW = 30

export const conc = (id: string, key: string, limit: number): LimitNeed => ({ id, kind: 'concurrency', key, limit })
export const rate = (id: string, key: string, limit: number, periodMs: number): LimitNeed => ({ id, kind: 'rate', key, limit, periodMs })

/** limitUsage, sorted by limit then key (the port leaves the order open). */
export async function usage(s: LimitStore, scope = SCOPE): Promise<LimitUsage[]> {
  const order = (u: LimitUsage) => `${u.id}|${u.key}`
  return (await s.limitUsage(scope)).sort((a, b) => (order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0))
}

/** limitHolders, sorted (the port leaves the order open). */
export async function holders(s: LimitStore, scope = SCOPE): Promise<string[]> {
  return (await s.limitHolders(scope)).sort()
}

/** Acquires and expects the holder admitted (by this call), returning the answer. */
export async function admit(s: LimitStore, req: LimitRequest, scope = SCOPE): Promise<LimitAnswer> {
  const a = await s.acquireLimit(scope, req)
  expect(a, `${req.holder} admitted`).toMatchObject({ state: 'admitted' })
  return a
}

/** Acquires and expects the holder queued. */
export async function queue(s: LimitStore, req: LimitRequest, scope = SCOPE): Promise<LimitAnswer> {
  const a = await s.acquireLimit(scope, req)
  expect(a, `${req.holder} queued`).toMatchObject({ state: 'queued' })
  return a
}

/** Releases each holder in turn, each release admitting exactly one: the order they came in. */
export async function releaseChain(s: LimitStore, first: string, n: number): Promise<string[]> {
  const order: string[] = []
  let cur = first
  for (let i = 0; i < n; i++) {
    const { admitted } = await s.releaseLimit(SCOPE, cur)
    expect(admitted, `release of ${cur} admits one`).toHaveLength(1)
    cur = admitted[0] as string
    order.push(cur)
  }
  return order
}
