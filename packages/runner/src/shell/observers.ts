import { type EventMeta, type EventRecord, isRepeatedAppend, isTerminalKind, LeanflowError, type StreamStore } from '@leanflow/core'
import type { EventInfo, RunnerObserver, RunStart, StartedData } from '../observer.js'

const MAX_STARTS = 1000

/**
 * The runner's observers (`runner.observe`) and what they are told: each record this process
 * appended, with its run's `flow.started` (cached per run, read once when this process did not
 * write it). Without an observer, {@link Observers.appended} returns at once.
 */
export class Observers {
  private readonly list = new Set<RunnerObserver>()
  private readonly starts = new Map<string, EventRecord<StartedData>>()
  /** Per run, the deliveries waiting for its `flow.started` to be read: later ones queue behind. */
  private readonly waiting = new Map<string, Promise<void>>()
  /** Per run, the appends in flight whose records the observers are to be told ({@link track}). */
  private readonly inflight = new Map<string, Set<Promise<unknown>>>()

  constructor(
    private readonly store: Pick<StreamStore, 'read'>,
    private readonly onError: (err: unknown) => void,
  ) {}

  /** True while at least one observer is registered. */
  get active(): boolean {
    return this.list.size > 0
  }

  /** Registers `observer`; the function returned unregisters it. */
  add(observer: RunnerObserver): () => void {
    this.list.add(observer)
    return () => {
      this.list.delete(observer)
      if (this.list.size === 0) this.starts.clear()
    }
  }

  /** Tells the observers about a record this process appended, with what the runner knows beyond it (`info`). */
  appended(record: EventRecord, info?: EventInfo): void {
    // a repeat of an idempotency key stored nothing (terminal waves append every completion again)
    if (this.list.size === 0 || isRepeatedAppend(record)) return
    const runId = record.flow
    if (record.kind === 'flow.started') this.remember(runId, record as EventRecord<StartedData>)
    const started = this.starts.get(runId)
    const before = this.waiting.get(runId)
    // a terminal event always tells its cut-off attempts (none, when no transition named any)
    const told = isTerminalKind(record.kind) ? { ...info, open: info?.open ?? [] } : info
    if (started && !before) {
      this.deliver(record, started, told)
      return
    }
    const p: Promise<void> = (before ?? Promise.resolve())
      .then(async () => {
        const s = await this.started(runId)
        if (s) this.deliver(record, s, told)
      })
      .catch(this.onError)
      .finally(() => {
        if (this.waiting.get(runId) === p) this.waiting.delete(runId)
      })
    this.waiting.set(runId, p)
  }

  /**
   * Keeps `told` (an append in flight, then telling the observers of its record) until it settles,
   * so {@link settled} waits for it.
   */
  track(runId: string, told: Promise<unknown>): void {
    let set = this.inflight.get(runId)
    if (!set) this.inflight.set(runId, (set = new Set()))
    set.add(told)
    const done = () => {
      set.delete(told)
      if (set.size === 0 && this.inflight.get(runId) === set) this.inflight.delete(runId)
    }
    told.then(done, done)
  }

  /**
   * Resolves once the observers were told every record of run `runId` this process appended so
   * far (appends in flight, deliveries waiting for the run's `flow.started`): `runner.result`
   * waits for it, so an observer (a span, a metric) has seen a run's end when its result is known.
   */
  async settled(runId: string): Promise<void> {
    for (;;) {
      const set = this.inflight.get(runId)
      const waiting = this.waiting.get(runId)
      if (!set && !waiting) return
      await Promise.allSettled([...(set ?? []), waiting])
    }
  }

  /**
   * Resolves once the observers were told every record this process appended so far, of every
   * run: `runner.stop()` waits for it (at most {@link OBSERVER_SETTLE_MS}) before the caller closes
   * the store, which a delivery may still read a run's `flow.started` from.
   */
  async idle(): Promise<void> {
    while (this.inflight.size > 0 || this.waiting.size > 0) {
      await Promise.allSettled([...[...this.inflight.values()].flatMap((set) => [...set]), ...this.waiting.values()])
    }
  }

  /** The run's `flow.started` record (cached; read from the store once), or undefined. */
  async started(runId: string): Promise<EventRecord<StartedData> | undefined> {
    const hit = this.starts.get(runId)
    if (hit) return hit
    const [first] = await this.store.read(runId, { limit: 1 })
    if (first?.kind !== 'flow.started') return undefined
    this.remember(runId, first as EventRecord<StartedData>)
    return first as EventRecord<StartedData>
  }

  /** The meta the observers add to a new run's `flow.started` (undefined: none). */
  startMeta(start: RunStart): EventMeta | undefined {
    let meta: EventMeta | undefined
    for (const o of this.list) {
      if (!o.startMeta) continue
      try {
        const m = o.startMeta(start)
        // a promise is no meta (startMeta is synchronous); its rejection goes to onError
        if (isThenable(m)) m.then(undefined, this.onError)
        else if (m !== undefined && m !== null) {
          // what flow.started cannot hold is this observer's bug: reported, and the run starts without it
          const bad = unstorableMeta(m)
          if (bad) this.onError(bad)
          else meta = { ...meta, ...m }
        }
      } catch (err) {
        this.onError(err)
      }
    }
    return meta
  }

  private deliver(record: EventRecord, started: EventRecord<StartedData>, info: EventInfo | undefined): void {
    for (const o of this.list) {
      try {
        // an async observer's rejection is its throw: to onError, never an unhandled rejection
        const r: unknown = info ? o.onEvent?.(record, started, info) : o.onEvent?.(record, started)
        if (isThenable(r)) r.then(undefined, this.onError)
      } catch (err) {
        this.onError(err)
      }
    }
  }

  private remember(runId: string, started: EventRecord<StartedData>): void {
    if (this.starts.size >= MAX_STARTS && !this.starts.has(runId)) this.starts.delete(this.starts.keys().next().value as string)
    this.starts.set(runId, started)
  }
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function'
}

/** Why a `startMeta` return value cannot go into `flow.started.meta` (no object, or not JSON), or nothing. */
function unstorableMeta(m: unknown): LeanflowError | undefined {
  const fix = 'return an object of JSON fields (or nothing); the run starts without it.'
  if (typeof m !== 'object' || Array.isArray(m)) {
    let shown: string
    try {
      shown = JSON.stringify(m) ?? typeof m
    } catch {
      shown = typeof m
    }
    return new LeanflowError('INVALID_ARGUMENT', `runner.observe startMeta returned ${shown}: ${fix}`)
  }
  let text: string
  try {
    text = JSON.stringify(m)
  } catch (err) {
    return new LeanflowError('INVALID_ARGUMENT', `runner.observe startMeta returned an object that is not JSON (${String(err)}): ${fix}`)
  }
  // meta is for a few ids (a trace, a tenant): more would make every start too large to store
  const bytes = new TextEncoder().encode(text).length
  if (bytes > MAX_START_META_BYTES)
    return new LeanflowError(
      'INVALID_ARGUMENT',
      `runner.observe startMeta returned ${bytes} bytes of JSON, over the ${MAX_START_META_BYTES} a run's flow.started.meta takes from observers: ${fix}`,
    )
  return undefined
}

/** The most JSON (UTF-8 bytes) one observer's `startMeta` may add to `flow.started.meta`. */
const MAX_START_META_BYTES = 8192

/** How long `runner.result` and `runner.stop` wait for this process's observers to be told. */
export const OBSERVER_SETTLE_MS = 5000

/** Resolves when `settled` does, or after `ms`, whichever comes first. */
export function settledWithin(settled: Promise<void>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const cap = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms)
  })
  return Promise.race([settled, cap]).finally(() => clearTimeout(timer))
}
