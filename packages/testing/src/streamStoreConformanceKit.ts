// Shared pieces of the StreamStore conformance suite (see streamStoreConformance.ts).
import type { EventBus, EventRecord, NewEvent, StreamStore } from '@leanflow/core'
import { isLeanflowError } from '@leanflow/core'
import { expect } from 'vitest'

/** What the suite asks of a store factory. */
export interface ConformanceStoreOptions {
  /** ms */
  retention?: number
  maxEventBytes?: number
  maxEventsPerRun?: number
  bus?: EventBus
}

/**
 * Makes a fresh store for one test of the conformance suite, with the options the test needs (a short `retention`, a small `maxEventBytes`); the suite closes it.
 *
 * @example
 * ```ts
 * describeStreamStoreConformance('mine', async (opts) => createMyStore({ retention: opts.retention }))
 * ```
 */
export type ConformanceStoreFactory = (opts: ConformanceStoreOptions) => Promise<StreamStore>

/**
 * Faults a store's test file can inject, for the parts of the contract that only show under
 * them. A store without a live channel (the memory store) passes none.
 */
export interface ConformanceFaults {
  /**
   * Cuts `store`'s live channel for `runId`: live messages published from now on reach no
   * follower, and the channel stays cut (the store cannot subscribe again) while the test
   * appends. Resolves to `restore()`, which lets it come back and resolves once the store is
   * subscribed again.
   */
  cutLive?(store: StreamStore, runId: string): Promise<() => Promise<void>>
  /**
   * Stops the backend every store of the suite talks to and starts it again with the data it
   * acknowledged (a planned restart, or a crash of a backend that persists every write);
   * resolves once it accepts connections again. The stores stay open: they must reconnect.
   */
  restart?(): Promise<void>
}

/** How `describeStreamStoreConformance` runs: the faults it may inject, the cases the store does not claim. */
export interface StreamStoreConformanceOptions {
  /** Faults the test file can inject; a guarantee whose hook is missing is reported as skipped. */
  faults?: ConformanceFaults
  /**
   * Groups (`'follow'`, `'idempotency'`, `'listRuns and listFlows'`, …) or single cases, by
   * title, that this store does not support, each with the reason. They are registered as
   * skipped with the reason in their title, so every run lists what it did not check.
   *
   * @example
   * ```ts
   * { unsupported: { follow: 'no pub/sub between connections of ioredis-mock' } }
   * ```
   */
  unsupported?: Readonly<Record<string, string>>
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'
/**
 * A random valid name (run id or flow name), unique enough to share one server between tests.
 *
 * @example
 * ```ts
 * const runId = uniqueName()      // 'rX3k…': 17 characters
 * const flow = uniqueName('flow')  // 'flowQ9…'
 * ```
 */
export function uniqueName(prefix = 'r'): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16))
  let s = prefix
  for (const b of bytes) s += ALPHABET[b % ALPHABET.length]
  return s
}

/**
 * Resolves after `ms` milliseconds.
 *
 * @example
 * ```ts
 * await sleep(50)
 * ```
 */
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/**
 * Resolves with `p`, or rejects after `ms` naming `what` (a hang must fail the test, not time it out silently).
 *
 * @example
 * ```ts
 * const e = await within(it.next(), 5000, 'the first event of the follow')
 * ```
 */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms)
  })
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer))
}

/**
 * Waits until `fn()` is true, polling, up to `ms`.
 *
 * @example
 * ```ts
 * await eventually(async () => (await store.read(runId)).length === 3, 5000, 'three events')
 * ```
 */
export async function eventually(fn: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`${what}: still false after ${ms} ms`)
    await sleep(50)
  }
}

/** Waits until the wall clock has moved to a later millisecond (distinct start times for listRuns ordering). */
export async function nextMillisecond(): Promise<void> {
  const t = Date.now()
  while (Date.now() <= t + 1) await sleep(2)
}

/**
 * Expects `p` to reject with a LeanflowError of `code`. `what` names the call and what it was
 * given (`putLookup ttlMs NaN`, `append after close()`), so a failure says which of a loop's
 * cases it was; a call that resolved is named with what it resolved to. `refused` says why the
 * call must fail: its input (the default), or the state the store or run is in (closed, a stale
 * fence, a run at its limit).
 */
export async function expectCode(p: Promise<unknown>, code: string, what: string, refused: 'input' | 'state' = 'input'): Promise<unknown> {
  let resolved: { value: unknown } | undefined
  const err = await p.then(
    (value) => {
      resolved = { value }
      return undefined
    },
    (e: unknown) => e,
  )
  if (resolved) {
    const got = JSON.stringify(resolved.value) ?? String(resolved.value)
    const why =
      refused === 'input' ? 'it must refuse this input' : 'it must refuse the call in this state (of the store, the run or its fences)'
    expect.fail(`${what}: expected a rejection with code ${code}, but the call resolved (with ${got.slice(0, 200)}): ${why}`)
  }
  expect(isLeanflowError(err), `${what}: expected a LeanflowError with code ${code}, got ${String(err)}`).toBe(true)
  expect((err as { code: string }).code, `${what}: the error code`).toBe(code)
  return err
}

/** How a value is named in a case's description: JSON where it has some, else as itself (NaN, 1n, a function). */
export function show(value: unknown): string {
  if (typeof value === 'bigint') return `${value}n`
  if (typeof value === 'number' || typeof value === 'function' || typeof value === 'symbol') return String(value)
  try {
    return (JSON.stringify(value) ?? String(value)).slice(0, 60)
  } catch {
    return Object.prototype.toString.call(value) // a cycle
  }
}

/** The first `n` events of `iter` (fewer when `signal` aborts, or after {@link COLLECT_MS}). */
export async function collect(iter: AsyncIterable<EventRecord>, n: number, signal?: AbortSignal): Promise<EventRecord[]> {
  const out: EventRecord[] = []
  if (n === 0) return out
  const reading = (async () => {
    for await (const e of iter) {
      out.push(e)
      if (out.length >= n || signal?.aborted) break
    }
  })()
  let timer: ReturnType<typeof setTimeout> | undefined
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), COLLECT_MS)
  })
  try {
    if ((await Promise.race([reading, late])) === 'late') reading.catch(() => {}) // the store's close() ends it
  } finally {
    clearTimeout(timer)
  }
  return [...out]
}

/**
 * How long {@link collect} waits for its `n` events: past it, it answers those it got, so a store
 * whose `follow` drops an event fails the test's assertion at once, naming what is missing,
 * instead of hanging until the test runner's timeout.
 */
const COLLECT_MS = 10_000

export const ev = (run: string, kind: string, data: unknown, step?: string): NewEvent =>
  step === undefined ? { kind, flow: run, data } : { kind, flow: run, step, data }

/** What each part of the suite gets: the shared store, fresh stores with options, and a way to stop tracking a store a test closed itself. */
export interface ConformanceContext {
  /** One store with default options, shared by the tests that need no options. */
  store(): Promise<StreamStore>
  /** A new store with these options, closed after the suite. */
  open(opts?: ConformanceStoreOptions): Promise<StreamStore>
  /** Stops tracking a store the test closed itself. */
  forget(store: StreamStore): void
  /** The faults the store's test file can inject (none: the fault tests are skipped). */
  faults?: ConformanceFaults
}

/** A small deterministic PRNG (mulberry32), so a failing sequence can be replayed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
