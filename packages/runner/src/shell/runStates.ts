import { type CasRunStateResult, isLeanflowError, type RunStateStore } from '@leanflow/core'
import { END_FENCE_KEY, RUN_FENCE } from '../machine/keys.js'
import { isEnded, type RunDoc } from '../machine/runDoc.js'
import { newId } from './newId.js'

const MAX_CACHED = 10_000
const MAX_TRIES = 100
/** How long a run stays contended after another process's write was seen, ms. */
const CONTENDED_MS = 1000
/** This process's part of every write token; a counter makes each token unique. */
const WRITER = newId().slice(0, 12)
let writes = 0

/** What the cache keeps of a run: the stored version and the document's JSON without its write token. */
interface Cached {
  version: number
  /** '' when the run has no document. */
  json: string
  /**
   * That JSON parsed, when this process has a copy nobody else holds (written by an update whose
   * caller keeps nothing of it, `own`): the next update takes it instead of parsing the JSON
   * again (a 1,000-child parent's document is some 190 KB).
   */
  doc?: RunDoc | undefined
}

/** The outcome of {@link RunStates.update}. */
export interface Updated<R> {
  doc: RunDoc | null
  value: R
  /** The document was written. */
  changed: boolean
}

/** Options of {@link RunStates.update}. */
export interface UpdateOptions<R> {
  /** Read the document from the store, not the cache. */
  fresh?: boolean
  /**
   * Called synchronously right after each compare-and-set is issued, before its reply: commands
   * issued here go out behind it on the same connection (one round trip). They must check on
   * their own that this write was applied (e.g. an append fenced by a lease the write sets).
   */
  onWrite?: (doc: RunDoc, value: R) => void
  /**
   * The caller keeps nothing of the document it gets back (nor of what `fn` returned from it):
   * the cache keeps it for the next update, which then needs no parse.
   */
  own?: boolean
}

/**
 * Compare-and-set over run documents with a local cache of the last version
 * seen: an update computes the next document from the cached one and
 * writes it in one CAS; a conflict returns the current record, and the
 * update runs again on it. With one process per run (the common case) every
 * change is one round trip.
 *
 * Every write carries a token unique to it (`doc.w`): a conflict whose current document holds
 * this write's token is this write, applied before a lost reply (ioredis resends after a
 * reconnect); an equal document written by someone else is not (two resolves of one trigger
 * with the same payload compute the same document).
 */
export class RunStates {
  private readonly cache = new Map<string, Cached>()
  /** Runs another process wrote while this one held them cached, and when that was last seen (ms). */
  private readonly others = new Map<string, number>()

  constructor(private readonly store: RunStateStore) {}

  /** The current document (from the store, refreshing the cache). */
  async read(runId: string): Promise<RunDoc | null> {
    return take(await this.fetch(runId))
  }

  /**
   * True while another process writes the run too (its write was seen in the last second): the
   * cached copy is likely stale, and reading it first costs less than a compare-and-set bound to
   * fail (which sends the whole document for nothing). Children of one parent ending in several
   * processes.
   */
  contended(runId: string): boolean {
    const at = this.others.get(runId)
    if (at === undefined) return false
    if (performance.now() - at < CONTENDED_MS) return true
    this.others.delete(runId)
    return false
  }

  /** Reads the stored version and JSON ('' when absent) and caches them. */
  private async fetch(runId: string): Promise<Cached> {
    const known = this.cache.get(runId)?.version
    const rec = await this.store.getRunState<RunDoc>(runId)
    if (rec && known !== undefined && rec.version > known) this.sawOther(runId, rec.doc)
    return this.remember(runId, rec ? rec.version : 0, rec ? bodyOf(rec.doc) : '')
  }

  /** Notes a version written by another process (its write token is not this process's). */
  private sawOther(runId: string, doc: RunDoc): void {
    if (typeof doc.w !== 'string' || doc.w.startsWith(`${WRITER}.`)) return
    if (this.others.size >= MAX_CACHED) this.others.clear()
    this.others.set(runId, performance.now())
  }

  /** Notes a document this process stored at `version` (a created run): the next update starts from it. */
  noteStored(runId: string, version: number, doc: RunDoc): void {
    this.remember(runId, version, bodyOf(doc))
  }

  /**
   * Runs `fn` on a copy of the document and writes the copy when `fn`
   * changed it, atomically; retries on conflict. `fn` sees `null` when the
   * run does not exist; a throw from `fn` writes nothing.
   */
  async update<R>(runId: string, fn: (doc: RunDoc | null) => R, opts: UpdateOptions<R> = {}): Promise<Updated<R>> {
    const cached = opts.fresh ? undefined : this.cache.get(runId)
    // use what was read, not the cache: another update may evict it meanwhile
    let cur: Cached = cached ?? (await this.fetch(runId))
    let fresh = cached === undefined
    for (let i = 0; i < MAX_TRIES; i++) {
      const version: number = cur.version
      const doc = take(cur)
      const wasEnded = doc !== null && isEnded(doc)
      const value = fn(doc)
      const json = doc ? JSON.stringify(doc) : ''
      if (!doc || json === cur.json) {
        // a decision to change nothing must not rest on a stale cached copy
        if (fresh) return { doc, value, changed: false }
        cur = await this.fetch(runId)
        fresh = true
        continue
      }
      const finished = isEnded(doc)
      // the run's idempotency key goes no later than the run: retired by a command sent before the
      // write that ends it, in the same round trip (awaited with it, not before it)
      const retiring =
        finished && !wasEnded && doc.startKey !== undefined ? this.store.retireLookup?.('start', doc.startKey).catch(keptOldKey) : undefined
      const token = `${WRITER}.${(++writes).toString(36)}`
      const stored = { ...doc, w: token }
      // `JSON.stringify(stored)` without serializing the document again: the token is its last key (`doc` has none)
      const full = json === '{}' ? JSON.stringify(stored) : `${json.slice(0, -1)},"w":${JSON.stringify(token)}}`
      const writing = this.store.casRunState<RunDoc>(runId, version, stored, { finished, fences: fencesOf(doc), json: full })
      opts.onWrite?.(doc, value)
      const [res] = (await Promise.all([writing, retiring])) as [CasRunStateResult<RunDoc>, unknown]
      const mine = res.ok || (res.current?.version === version + 1 && res.current.doc.w === token)
      if (mine) {
        if (finished && !wasEnded) retireTriggers(this.store, doc)
        // on a conflict: our own write, applied before a lost reply
        if (finished) this.cache.delete(runId)
        else this.remember(runId, version + 1, json, opts.own ? doc : undefined)
        return { doc, value, changed: true }
      }
      if (res.current) this.sawOther(runId, res.current.doc)
      cur = this.remember(runId, res.current?.version ?? 0, res.current ? bodyOf(res.current.doc) : '')
      fresh = true
    }
    throw new Error(`Run ${runId}: the run state kept changing under ${MAX_TRIES} compare-and-set tries.`)
  }

  private remember(runId: string, version: number, json: string, doc?: RunDoc): Cached {
    this.cache.delete(runId)
    if (this.cache.size >= MAX_CACHED) {
      const oldest = this.cache.keys().next().value
      if (oldest !== undefined) this.cache.delete(oldest)
    }
    const cur: Cached = { version, json, doc }
    this.cache.set(runId, cur)
    return cur
  }
}

/** The document of `cur` to change: its parsed copy when one is spare (taken: used once), else parsed from its JSON. */
function take(cur: Cached): RunDoc | null {
  if (cur.json === '') return null
  const doc = cur.doc
  if (doc === undefined) return JSON.parse(cur.json) as RunDoc
  cur.doc = undefined
  return doc
}

/** The document's JSON without its write token (what updates compare). */
function bodyOf(doc: RunDoc): string {
  if (doc.w === undefined) return JSON.stringify(doc)
  const { w: _, ...rest } = doc
  return JSON.stringify(rest)
}

/**
 * The run's fences: step → lease of each step an execution holds while the run runs, and the
 * run's own (`RUN_FENCE`); once it ended, only the lease of the execution whose write ended it,
 * under `END_FENCE_KEY`. Written with every compare-and-set, so a fenced append (`log`, `emit`,
 * `state.set`) of an execution that lost its lease, or of a run that ended, and an await's
 * announcement of a run that ended, is refused by the store atomically.
 */
export function fencesOf(doc: RunDoc): Record<string, string> {
  const out: Record<string, string> = {}
  if (doc.status !== 'running') {
    // an ended run's one fence: its last appends ride behind the write that ended it (`endFence`)
    if (doc.endedBy !== undefined && isEnded(doc)) out[END_FENCE_KEY] = doc.endedBy
    return out
  }
  out[RUN_FENCE.key] = RUN_FENCE.token
  for (const [name, s] of Object.entries(doc.steps)) if (s.status === 'running' && s.lease !== undefined) out[name] = s.lease
  return out
}

/**
 * A start key kept by an older release that the store now refuses (a lone surrogate): it cannot
 * be retired, and expires with its run as before; any other failure fails the write as it did.
 */
/**
 * The lookups of the run's triggers expire with the run (its `retention` from now), as its other
 * keys do: set when each trigger was made to outlive any timeout, they held the run's id for up
 * to 800 days after its data was gone. Once the ending write is stored, not awaited: should it
 * fail (or the process die first), they expire as set.
 */
function retireTriggers(store: RunStateStore, doc: RunDoc): void {
  if (!store.retireLookup) return
  for (const s of Object.values(doc.steps))
    for (const r of s.records) if (r.t === 'trigger') store.retireLookup('trigger', r.id).catch(() => {})
}

function keptOldKey(err: unknown): void {
  if (!isLeanflowError(err, 'INVALID_ARGUMENT')) throw err
}
