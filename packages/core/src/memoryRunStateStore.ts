import { type Duration, parseDuration } from './duration.js'
import { LeanflowError } from './errors.js'
import { idempotencyKey } from './idempotencyKey.js'
import { memoryOutbox } from './internal/memoryOutbox.js'
import { invalidArgument, optionsObject } from './invalidArgument.js'
import { assertName } from './names.js'
import type {
  CasRunStateOptions,
  CasRunStateResult,
  LookupNamespace,
  RunStateRecord,
  RunStateStore,
  StoredExternalEvent,
} from './runStateStore.js'
import { casRunStateOptions, checkLookup, checkReadExternal, checkWatchKind, externalDataJson, runStateJson } from './storeChecks.js'
import { STORE_DEFAULTS } from './streamStore.js'

/** Fences of each memory run state store, by run (read by the memory stream store's append). */
const FENCES = new WeakMap<RunStateStore, Map<string, Record<string, string>>>()

/** The synchronous compare-and-set and read of a memory run state store (the memory stream store's `createRun`). */
export interface SyncRunState {
  cas<T>(runId: string, expected: number, doc: T, opts?: CasRunStateOptions): CasRunStateResult<T>
  get<T>(runId: string): RunStateRecord<T> | null
  /** Drops a finished run's document and fences (its log expired: the memory stream store's retention timer). */
  forget(runId: string): void
  /** What it holds: documents, external events, their idempotency keys (tests of retention). */
  sizes(): { documents: number; externalEvents: number; eventKeys: number }
}
const SYNC = new WeakMap<RunStateStore, SyncRunState>()

/** The synchronous side of a store made by {@link createMemoryRunStateStore}. Internal. */
export function syncRunState(state: RunStateStore): SyncRunState {
  const sync = SYNC.get(state)
  if (!sync) throw new LeanflowError('INVALID_ARGUMENT', 'Not a store made by createMemoryRunStateStore().')
  return sync
}

/**
 * True when `state` (a store made by {@link createMemoryRunStateStore}) holds `token` in the
 * run's fence `key`. Internal: the memory stream store checks append fences with it.
 */
export function fenceHolds(state: RunStateStore, runId: string, key: string, token: string): boolean {
  const fences = FENCES.get(state)?.get(runId)
  return fences !== undefined && Object.hasOwn(fences, key) && fences[key] === token
}

/** Options of {@link createMemoryRunStateStore}. */
export interface MemoryRunStateStoreOptions {
  /** The store's clock in ms. @default Date.now */
  now?: (() => number) | undefined
  /** How long a finished run's document is kept. @default '7d' */
  retention?: Duration | undefined
  /** How long external events are kept. @default '7d' */
  eventRetention?: Duration | undefined
}

interface Slot {
  version: number
  json: string
  expiresAt?: number
}

/**
 * The {@link RunStateStore} held in memory (browser-safe). Documents are kept
 * as JSON text, so a caller never shares objects with the store; every
 * compare-and-set runs synchronously, so it is atomic. `createMemoryStreamStore()`
 * mixes it in. Alone it serves what needs run state but no log (a test of documents, lookups or
 * external events): its `createRun` refuses (a run is created with its log, in one step), and its
 * fences guard no other store's appends, so a custom stream store brings its own run state to
 * run flows (see docs/writing-a-transport.md).
 *
 * @example
 * ```ts
 * const state = createMemoryRunStateStore({ now: () => clock.now })
 * await state.casRunState('r1', 0, { status: 'running' }) // { ok: true, version: 1 }
 * ```
 */
export function createMemoryRunStateStore(options: MemoryRunStateStoreOptions = {}): RunStateStore {
  const now = options.now ?? Date.now
  const retentionMs = parseDuration(options.retention ?? STORE_DEFAULTS.retentionMs, 'retention')
  const eventRetentionMs = parseDuration(options.eventRetention ?? STORE_DEFAULTS.retentionMs, 'eventRetention')
  const docs = new Map<string, Slot>()
  const fences = new Map<string, Record<string, string>>()
  const lookups = new Map<string, { value: string; expiresAt?: number }>()
  const events = new Map<string, Array<{ seq: number; json: string; ms: number }>>()
  /** External events' idempotency keys: the first event's JSON, and when it was published (they expire with it). */
  const eventKeys = new Map<string, { json: string; ms: number }>()
  const watchers = new Map<string, Set<string>>()
  let seq = 0
  let lastMs = 0
  /** Lookups after the last sweep of expired ones: the next sweep waits until their number doubles. */
  let sweptAt = 64
  /** Documents after the last sweep of expired ones (as for lookups). */
  let docsSweptAt = 64
  /** External events published since the last sweep of expired ones, and the sweep's threshold. */
  let publishedSince = 0
  let externalSweptAt = 64

  /** Drops expired lookups once their map has doubled since the last sweep (amortized O(1)). */
  function sweepLookups(t: number) {
    if (lookups.size < sweptAt * 2) return
    for (const [k, v] of lookups) if (v.expiresAt !== undefined && v.expiresAt <= t) lookups.delete(k)
    sweptAt = Math.max(64, lookups.size)
  }

  /**
   * Drops finished documents past their retention once the map has doubled since the last sweep
   * (amortized O(1)): a document no one reads again would stay otherwise. With a memory stream
   * store, each run's document also goes when its log expires (`forget`).
   */
  function sweepDocs(t: number) {
    if (docs.size < docsSweptAt * 2) return
    for (const [runId, slot] of docs)
      if (slot.expiresAt !== undefined && slot.expiresAt <= t) {
        docs.delete(runId)
        fences.delete(runId)
      }
    docsSweptAt = Math.max(64, docs.size)
  }

  /** Drops external events and their keys past `eventRetention`, every kind, once as many were published as were kept (amortized O(1)). */
  function sweepExternal(t: number) {
    if (++publishedSince < externalSweptAt) return
    const oldest = t - eventRetentionMs
    let kept = 0
    for (const [kind, list] of events) {
      while (list.length > 0 && (list[0]?.ms ?? 0) < oldest) list.shift()
      if (list.length === 0) events.delete(kind)
      kept += list.length
    }
    for (const [key, v] of eventKeys) if (v.ms < oldest) eventKeys.delete(key)
    publishedSince = 0
    externalSweptAt = Math.max(64, kept, eventKeys.size)
  }

  const live = (runId: string): Slot | undefined => {
    const slot = docs.get(runId)
    if (slot?.expiresAt !== undefined && slot.expiresAt <= now()) {
      docs.delete(runId)
      fences.delete(runId)
      return undefined
    }
    return slot
  }
  const record = <T>(slot: Slot | undefined): RunStateRecord<T> | null =>
    slot ? { version: slot.version, doc: JSON.parse(slot.json) as T } : null

  function cas<T>(runId: string, expected: number, doc: T, opts: CasRunStateOptions = {}): CasRunStateResult<T> {
    const slot = live(runId)
    if ((slot?.version ?? 0) !== expected) return { ok: false, current: record<T>(slot) }
    const version = expected + 1
    const json = opts.json ?? JSON.stringify(doc)
    docs.set(runId, {
      version,
      json,
      expiresAt: opts.finished ? now() + retentionMs : undefined,
    })
    sweepDocs(now())
    if (opts.fences !== undefined) {
      const copy: Record<string, string> = Object.create(null)
      for (const [k, v] of Object.entries(opts.fences)) copy[k] = String(v)
      if (Object.keys(copy).length === 0) fences.delete(runId)
      else fences.set(runId, copy)
    }
    return { ok: true, version }
  }

  function publish<D>(kind: string, data: D, key?: string): StoredExternalEvent<D> {
    // checked before anything is stored or looked up, as the Redis store does: undefined data is null
    assertName(kind, 'event kind')
    const dataJson = externalDataJson(kind, data)
    const known = key === undefined ? undefined : eventKeys.get(key)
    // a key lives as long as its event (as on Redis, where it expires after eventRetention)
    if (known && known.ms >= now() - eventRetentionMs) return JSON.parse(known.json) as StoredExternalEvent<D>
    const ms = Math.max(now(), lastMs)
    lastMs = ms
    seq += 1
    const json = `{"id":"${ms}-${seq}","ts":"${new Date(ms).toISOString()}","kind":"${kind}","data":${dataJson},"seq":${seq}}`
    const list = events.get(kind) ?? []
    while (list.length > 0 && (list[0]?.ms ?? 0) < ms - eventRetentionMs) list.shift()
    list.push({ seq, json, ms })
    events.set(kind, list)
    if (key !== undefined) eventKeys.set(key, { json, ms })
    sweepExternal(ms)
    return JSON.parse(json) as StoredExternalEvent<D>
  }

  const store: RunStateStore = {
    async now() {
      return now()
    },
    async getRunState<T>(runId: string) {
      return record<T>(live(assertName(runId, 'run id')))
    },
    async casRunState<T>(runId: string, expected: number, doc: T, opts?: CasRunStateOptions) {
      const o = casRunStateOptions(runId, expected, opts)
      return cas(runId, expected, doc, o.json === undefined ? { ...o, json: runStateJson(runId, doc) } : o)
    },
    async createRun() {
      throw new LeanflowError(
        'INVALID_ARGUMENT',
        "createRun needs the run's event log: use createMemoryStreamStore(), which holds both the log and the run state.",
      )
    },
    async putLookup(ns: LookupNamespace, key: string, value: string, ttlMs?: number) {
      checkLookup(ns, key)
      if (ttlMs !== undefined && !(typeof ttlMs === 'number' && Number.isFinite(ttlMs) && ttlMs > 0))
        throw invalidArgument(`putLookup ttlMs of ${ns} "${key}"`, ttlMs, 'a lifetime in ms above 0, or leave it out')
      const k = `${ns}\u0000${key}`
      const cur = lookups.get(k)
      if (cur && (cur.expiresAt === undefined || cur.expiresAt > now())) return cur.value
      lookups.set(k, { value, expiresAt: ttlMs === undefined ? undefined : now() + ttlMs })
      sweepLookups(now())
      return value
    },
    async getLookup(ns: LookupNamespace, key: string) {
      checkLookup(ns, key)
      const k = `${ns}\u0000${key}`
      const cur = lookups.get(k)
      if (cur?.expiresAt !== undefined && cur.expiresAt <= now()) lookups.delete(k)
      else if (cur) return cur.value
      return null
    },
    async retireLookup(ns: LookupNamespace, key: string) {
      checkLookup(ns, key)
      const cur = lookups.get(`${ns}\u0000${key}`)
      const t = now()
      if (cur && (cur.expiresAt === undefined || cur.expiresAt > t)) cur.expiresAt = t + retentionMs
      sweepLookups(t)
    },
    async publishExternal<D>(kind: string, data: D, opts?: { idempotencyKey?: string }) {
      const key = optionsObject(opts, 'publishExternal options', '{ idempotencyKey? }', ['idempotencyKey']).idempotencyKey
      return publish(kind, data, idempotencyKey(key, 'publishExternal idempotency key'))
    },
    async externalPosition() {
      return seq
    },
    async readExternal(kind: string, afterSeq: number) {
      checkReadExternal(kind, afterSeq)
      const list = events.get(kind) ?? []
      return list.filter((e) => e.seq > afterSeq).map((e) => JSON.parse(e.json) as StoredExternalEvent)
    },
    async watchKind(kind: string, runId: string) {
      checkWatchKind(kind, runId)
      const set = watchers.get(kind) ?? new Set<string>()
      set.add(runId)
      watchers.set(kind, set)
    },
    async unwatchKind(kind: string, runId: string) {
      checkWatchKind(kind, runId)
      watchers.get(kind)?.delete(runId)
    },
    async kindWatchers(kind: string) {
      return [...(watchers.get(kind) ?? [])]
    },
    ...memoryOutbox(now, retentionMs, (runId) => live(runId) !== undefined),
  }
  FENCES.set(store, fences)
  const forget = (runId: string) => {
    if (docs.get(runId)?.expiresAt === undefined) return
    docs.delete(runId)
    fences.delete(runId)
  }
  const sizes = () => ({
    documents: docs.size,
    externalEvents: [...events.values()].reduce((n, list) => n + list.length, 0),
    eventKeys: eventKeys.size,
  })
  SYNC.set(store, { cas, get: (runId) => record(live(runId)), forget, sizes })
  return store
}
