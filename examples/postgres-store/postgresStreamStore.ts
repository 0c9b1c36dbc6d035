// A StreamStore and RunStateStore on PostgreSQL (the example of docs/writing-a-transport.md):
// the run log as rows, live delivery by LISTEN/NOTIFY with catch-up by id, the run state as a
// document with a version column. It passes the kit's suites (@leanflow/testing).
import {
  type AppendManyOptions,
  type AppendOptions,
  appendManyOptions,
  assertFlowName,
  assertName,
  type BatchAppend,
  compareEventIds,
  type EventRecord,
  eventIdOption,
  followSignal,
  historyGone,
  invalidArgument,
  isRepeatedAppend,
  LeanflowError,
  markRepeatedAppend,
  maxEventsFor,
  type NewEvent,
  NonRetriableError,
  parseDuration,
  positiveInteger,
  type ReadOptions,
  type RunStateStore,
  type RunStatus,
  type RunSummary,
  refuseAfterClose,
  requiredIdempotencyKey,
  runStateJson,
  runTooLong,
  STORE_DEFAULTS,
  type StreamStore,
  storeOptions,
  type ValidatedAppend,
  validateAppend,
  validateBatch,
} from '@leanflow/core'
import pg from 'pg'
import { closedError } from './closedError.js'
import { translatePgErrors } from './pgErrors.js'
import { PostgresFollower, PostgresListener } from './postgresFollow.js'
import { createPostgresOutbox } from './postgresOutbox.js'
import { createPostgresRunState, type Sql } from './postgresRunState.js'
import { emptyFold, foldEvent, type RunFold } from './runFold.js'
import { quoteIdent, schemaSql } from './schema.js'

/** Options of {@link createPostgresStreamStore}. */
export interface PostgresStreamStoreOptions {
  /** Where the database is, e.g. `postgres://app@127.0.0.1:5432/app`. */
  connectionString: string
  /** The schema holding the store's tables (created when missing). @default 'leanflow' */
  schema?: string
  /** How long a finished run is kept, in ms. @default 7 days */
  retention?: number
  /** @default 1048576 */
  maxEventBytes?: number
  /** @default 100000 */
  maxEventsPerRun?: number
  /** Every appended record is published on this bus (an `EventBus`, typed by its shape). */
  bus?: { publish(event: EventRecord): unknown }
  /** Connections of the pool. @default 10 */
  poolSize?: number
}

/** What `createPostgresStreamStore` returns: both ports the runner needs. */
export interface PostgresStreamStore extends StreamStore, RunStateStore {
  /** The pool (for the example's own queries). */
  readonly pool: pg.Pool
}

const STATUSES: readonly RunStatus[] = ['pending', 'queued', 'running', 'awaiting', 'completed', 'failed', 'canceled']
const internals = new WeakMap<PostgresStreamStore, PostgresListener>()

/**
 * A PostgreSQL store for leanflow's runner (an example, not a package): `createRunner({ store })`.
 *
 * @example
 * ```ts
 * const store = await createPostgresStreamStore({ connectionString: process.env.DATABASE_URL! })
 * const runner = createRunner({ store, flows: [order] })
 * ```
 */
export async function createPostgresStreamStore(options: PostgresStreamStoreOptions): Promise<PostgresStreamStore> {
  const schema = options.schema ?? 'leanflow'
  const s = quoteIdent(schema)
  const retentionMs = parseDuration(options.retention ?? STORE_DEFAULTS.retentionMs, 'retention') // whole ms, as the built-in stores
  const maxEventBytes = positiveInteger(options.maxEventBytes ?? STORE_DEFAULTS.maxEventBytes, 'maxEventBytes')
  const maxEventsPerRun = positiveInteger(options.maxEventsPerRun ?? STORE_DEFAULTS.maxEventsPerRun, 'maxEventsPerRun')
  const bus = options.bus
  const pool = new pg.Pool({ connectionString: options.connectionString, max: options.poolSize ?? 10 })
  pool.on('error', () => {}) // an idle client lost: the pool replaces it
  // and every client listens for good: a client a pool.query released is handed, in the same
  // tick, to a waiting pool.connect() without the pool's idle listener, and a server's goodbye
  // (a restart, 57P01) read before that caller's listener is on was an unhandled 'error' event
  // that ended the process (the call that uses the client fails with STORE_UNAVAILABLE as before)
  pool.on('connect', (client) => client.on('error', () => {}))
  await pool.query(schemaSql(schema))
  const channelName = `lf_${schema}`.slice(0, 63)
  const channel = quoteIdent(channelName)
  const listener = new PostgresListener({ connectionString: options.connectionString }, channel)
  await listener.ready()

  /** The database clock in ms: ids, `ts`, retention and run-state deadlines all use it. */
  const NOW = `(extract(epoch from clock_timestamp()) * 1000)::bigint`

  async function tx<T>(fn: (sql: Sql) => Promise<T>): Promise<T> {
    const client = await pool.connect()
    // a checked-out client has no listener of the pool's: without one, the server going away
    // (a restart) is an unhandled 'error' event that ends the process
    let lost: unknown
    const onLost = (err: unknown) => {
      lost = err
    }
    client.on('error', onLost)
    try {
      await client.query('BEGIN')
      const out = await fn((text, values) => client.query(text, values))
      await client.query('COMMIT')
      return out
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {})
      throw err
    } finally {
      client.off('error', onLost)
      // a client whose connection failed is dropped, never handed to the next call
      client.release(lost instanceof Error ? lost : undefined)
    }
  }

  /** Locks the run's row (creating it), dropping the run first when its retention passed. */
  async function lockRun(sql: Sql, runId: string) {
    // the upsert locks the row (created or not) until COMMIT: appends to one run take turns
    const row = (
      await sql(
        `INSERT INTO ${s}.runs AS r (run_id, fold) VALUES ($1, '{}') ON CONFLICT (run_id) DO UPDATE SET run_id = r.run_id
         RETURNING last_ms, last_seq, events, fold, expires_at, ${NOW} AS now`,
        [runId],
      )
    ).rows[0]
    const now = Number(row.now)
    if (row.expires_at !== null && Number(row.expires_at) <= now) {
      await sql(`DELETE FROM ${s}.events WHERE run_id = $1`, [runId])
      await sql(
        `UPDATE ${s}.runs SET last_ms = -1, last_seq = 0, events = 0, fold = '{}', flow = NULL, status = NULL, started_ms = NULL, expires_at = NULL WHERE run_id = $1`,
        [runId],
      )
      return { lastMs: -1, lastSeq: 0, events: 0, fold: emptyFold(), now }
    }
    const fold = (row.fold as Partial<RunFold>).steps ? (row.fold as RunFold) : emptyFold()
    return { lastMs: Number(row.last_ms), lastSeq: Number(row.last_seq), events: Number(row.events), fold, now }
  }

  async function recordOf(sql: Sql, runId: string, key: string): Promise<EventRecord | null> {
    const r = await sql(`SELECT record FROM ${s}.events WHERE run_id = $1 AND idempotency_key = $2`, [runId, key])
    return r.rows[0] ? (JSON.parse(r.rows[0].record) as EventRecord) : null
  }

  /** Stores a checked append in the open transaction (the run's row locked), or answers its idempotency key's first record. */
  async function write(sql: Sql, runId: string, event: NewEvent, checked: ValidatedAppend, opts: AppendOptions): Promise<EventRecord> {
    const run = await lockRun(sql, runId)
    const key = checked.idempotencyKey
    if (key !== undefined) {
      const first = await recordOf(sql, runId, key)
      if (first) return markRepeatedAppend(first)
    }
    if (opts.fence !== undefined) {
      const f = await sql(`SELECT fences FROM ${s}.run_state WHERE run_id = $1 AND (expires_at IS NULL OR expires_at > $2) FOR SHARE`, [
        runId,
        run.now,
      ])
      const fences = f.rows[0]?.fences as Record<string, string> | null | undefined
      if (!fences || !Object.hasOwn(fences, String(opts.fence.key)) || fences[String(opts.fence.key)] !== String(opts.fence.token)) {
        throw new NonRetriableError(
          `Append to run "${runId}" refused: its fence "${opts.fence.key}" no longer holds this token (the step's lease was taken over or the run ended); nothing was written.`,
        )
      }
    }
    if (opts.after !== undefined && (await recordOf(sql, runId, String(opts.after))) === null) {
      throw new LeanflowError(
        'INVALID_ARGUMENT',
        `Append of "${event.kind}" to run "${runId}" refused: it must come after the append with idempotency key "${opts.after}", which is not stored; append that one first. Nothing was written.`,
      )
    }
    if (run.events >= maxEventsFor(event.kind, maxEventsPerRun)) {
      throw runTooLong(runId, run.events, maxEventsPerRun)
    }
    const [ms, seq] = run.now <= run.lastMs ? [run.lastMs, run.lastSeq + 1] : [run.now, 0]
    const id = `${ms}-${seq}`
    const ts = new Date(ms).toISOString()
    const json = `{"id":"${id}","ts":"${ts}",${checked.json.slice(1)}`
    const data = event.data === undefined ? null : event.data
    const ended = foldEvent(run.fold, {
      kind: event.kind,
      step: event.step,
      data,
      ms,
      ts,
      runId,
      flowName: checked.flowName,
      flowVersion: checked.flowVersion,
    })
    const f = run.fold
    // the row, the run's summary and the doorbell in one statement; NOTIFY is delivered at COMMIT
    await sql(
      `WITH row AS (INSERT INTO ${s}.events (run_id, ms, seq, record, idempotency_key) VALUES ($1, $2, $3, $4, $5)),
            run AS (UPDATE ${s}.runs SET last_ms = $2, last_seq = $3, events = events + 1, fold = $6, flow = $7, status = $8,
                      started_ms = $9, expires_at = CASE WHEN $10 THEN $11::bigint ELSE expires_at END WHERE run_id = $1)
       SELECT pg_notify($12, $1)`,
      [
        runId,
        ms,
        seq,
        json,
        key ?? null,
        JSON.stringify(f),
        f.summary?.flow ?? null,
        f.summary ? f.status : null,
        f.startedMs ?? null,
        ended,
        ms + retentionMs,
        channelName,
      ],
    )
    if (ended) await sql(`UPDATE ${s}.run_state SET expires_at = $2 WHERE run_id = $1 AND expires_at IS NULL`, [runId, ms + retentionMs])
    return JSON.parse(json) as EventRecord
  }

  const state = createPostgresRunState({ pool, schema: s, now: NOW, tx, retentionMs })
  const outbox = createPostgresOutbox({ pool, schema: s, now: NOW, tx, retentionMs })

  /**
   * A run's appends in the order this process issued them: each transaction starts once the one
   * issued before it for that run has ended. The runner pipelines appends that must be stored in
   * order (the later one with `after`); on pooled connections they would otherwise race for the
   * run's row, and the later one would be refused for want of the earlier.
   */
  const issued = new Map<string, Promise<unknown>>()
  function inIssueOrder<T>(runId: string, work: () => Promise<T>): Promise<T> {
    const before = issued.get(runId)
    const mine = before === undefined ? work() : before.then(work, work)
    const done = mine.then(
      () => {},
      () => {},
    )
    issued.set(runId, done)
    done.then(() => {
      if (issued.get(runId) === done) issued.delete(runId)
    })
    return mine
  }

  async function append(runId: string, event: NewEvent, opts: AppendOptions = {}): Promise<EventRecord> {
    const checked = validateAppend(runId, event, opts, { maxEventBytes })
    const record = await inIssueOrder(runId, () => tx((sql) => write(sql, runId, event, checked, opts)))
    if (!isRepeatedAppend(record)) bus?.publish(JSON.parse(JSON.stringify(record)) as EventRecord)
    return record
  }

  /** Several appends in one transaction: the batch's checks once, then each as `append` stores it. */
  async function appendMany(runId: string, items: readonly BatchAppend[], options?: AppendManyOptions): Promise<EventRecord[]> {
    const opts = appendManyOptions(options)
    const checked = validateBatch(runId, items, { maxEventBytes })
    if (items.length === 0) return []
    const records = await inIssueOrder(runId, () =>
      tx(async (sql) => {
        const run = await lockRun(sql, runId)
        const keys = new Set<string>()
        let fresh = 0
        for (const [i, c] of checked.entries()) {
          const key = c.idempotencyKey
          if (key !== undefined && (keys.has(key) || (await recordOf(sql, runId, key)) !== null)) continue
          if (key !== undefined) keys.add(key)
          // each new event fits as its own append would (its kind's limit), behind the new ones before it
          const kind = (items[i] as BatchAppend).event.kind
          if (run.events + fresh >= maxEventsFor(kind, maxEventsPerRun)) {
            throw runTooLong(runId, run.events, maxEventsPerRun, items.length)
          }
          fresh++
        }
        const out: EventRecord[] = []
        // each new event checks the fence and `after` (the first refusal rolls the whole batch back)
        for (const [i, c] of checked.entries()) out.push(await write(sql, runId, (items[i] as BatchAppend).event, c, opts))
        return out
      }),
    )
    for (const r of records) if (!isRepeatedAppend(r)) bus?.publish(JSON.parse(JSON.stringify(r)) as EventRecord)
    return records
  }

  /** The rows of a live run between exclusive bounds (`[]` for an unknown or expired run). */
  async function read(runId: string, options?: ReadOptions): Promise<EventRecord[]> {
    assertName(runId, 'run id')
    const opts = storeOptions('read', options)
    const after = idParts('read', 'after', opts.after)
    const before = idParts('read', 'before', opts.before)
    const limit = positiveInteger(opts.limit ?? STORE_DEFAULTS.readLimit, 'read limit')
    const direction = opts.direction === undefined ? 'forward' : opts.direction
    if (direction !== 'forward' && direction !== 'backward') throw invalidArgument('read direction', direction, "'forward' or 'backward'")
    const order = direction === 'forward' ? 'ASC' : 'DESC'
    const r = await pool.query(
      `SELECT e.record FROM ${s}.events e JOIN ${s}.runs r ON r.run_id = e.run_id
        WHERE e.run_id = $1 AND (r.expires_at IS NULL OR r.expires_at > ${NOW})
          AND ($2::numeric IS NULL OR (e.ms::numeric, e.seq::numeric) > ($2::numeric, $3::numeric))
          AND ($4::numeric IS NULL OR (e.ms::numeric, e.seq::numeric) < ($4::numeric, $5::numeric))
        ORDER BY e.ms ${order}, e.seq ${order} LIMIT $6`,
      [runId, after?.[0] ?? null, after?.[1] ?? null, before?.[0] ?? null, before?.[1] ?? null, limit],
    )
    return r.rows.map((row) => JSON.parse(row.record) as EventRecord)
  }

  async function checkAfter(runId: string, after: string): Promise<void> {
    const r = await pool.query(
      `SELECT last_ms, last_seq FROM ${s}.runs WHERE run_id = $1 AND events > 0 AND (expires_at IS NULL OR expires_at > ${NOW})`,
      [runId],
    )
    const row = r.rows[0]
    if (!row) throw historyGone(runId, after)
    if (compareEventIds(after, `${row.last_ms}-${row.last_seq}`) > 0) throw historyGone(runId, after, true)
  }

  let closing: Promise<void> | undefined
  const store: PostgresStreamStore = {
    ...state.store,
    ...outbox,
    pool,
    append,
    appendMany,
    read,
    follow(runId, options) {
      assertName(runId, 'run id')
      const opts = storeOptions('follow', options)
      idParts('follow', 'after', opts.after)
      const signal = followSignal(opts.signal)
      const readAfter = (id: string, after: string | undefined, limit: number) => read(id, { after, limit })
      return {
        [Symbol.asyncIterator]: () =>
          new PostgresFollower(listener, readAfter, (after) => checkAfter(runId, after), runId, opts.after, signal),
      }
    },
    async listRuns(flowName, options) {
      assertFlowName(flowName) // a reserved name too, as the built-in stores refuse it
      const opts = storeOptions('listRuns', options)
      const limit = positiveInteger(opts.limit ?? STORE_DEFAULTS.listLimit, 'listRuns limit')
      const { before, status } = opts
      if (before !== undefined && !Number.isFinite(before)) throw invalidArgument('listRuns before', before, 'a start time in ms')
      if (status !== undefined && !STATUSES.includes(status))
        throw invalidArgument('listRuns status', status, `one of ${STATUSES.join(', ')}`)
      const r = await pool.query(
        `SELECT fold->'summary' AS summary FROM ${s}.runs
          WHERE flow = $1 AND (expires_at IS NULL OR expires_at > ${NOW})
            AND ($2::double precision IS NULL OR started_ms < $2) AND ($3::text IS NULL OR status = $3)
          ORDER BY started_ms DESC, run_id DESC LIMIT $4`,
        [flowName, before ?? null, status ?? null, limit],
      )
      return r.rows.map((row) => row.summary as RunSummary)
    },
    async listFlows() {
      const r = await pool.query(
        `SELECT flow, count(*)::int AS runs FROM ${s}.runs WHERE flow IS NOT NULL AND (expires_at IS NULL OR expires_at > ${NOW}) GROUP BY flow ORDER BY flow`,
      )
      return r.rows.map((row) => ({ flow: row.flow as string, runs: row.runs as number }))
    },
    async createRun(runId, doc, first, opts) {
      const o = storeOptions('createRun', opts)
      const checked = validateAppend(runId, first, { idempotencyKey: o.idempotencyKey }, { maxEventBytes })
      const key = requiredIdempotencyKey(checked.idempotencyKey, 'createRun idempotency key')
      const json = runStateJson(runId, doc)
      const out = await tx(async (sql) => {
        await lockRun(sql, runId)
        const prev = await recordOf(sql, runId, key)
        const current = await state.getIn(sql, runId)
        if (prev !== null || current !== null) return { created: false as const, current, record: prev }
        const record = await write(sql, runId, first, checked, {})
        await state.insertIn(sql, runId, json, o.fences)
        return { created: true as const, version: 1, record }
      })
      if (out.created) bus?.publish(JSON.parse(JSON.stringify(out.record)) as EventRecord)
      return out as never
    },
    close() {
      closing ??= listener.close().then(() => pool.end())
      return closing
    },
  }
  internals.set(store, listener)
  // every call but follow after close() is STORE_UNAVAILABLE, as on the built-in stores (not pg's raw error)
  return refuseAfterClose(translatePgErrors(store), () => closing !== undefined, closedError)
}

/** The store's LISTEN connection, for fault tests (cut it, hold it down). */
export function postgresStoreInternals(store: StreamStore): PostgresListener {
  const l = internals.get(store as PostgresStreamStore)
  if (!l) throw new LeanflowError('INVALID_ARGUMENT', 'Not a store made by createPostgresStreamStore().')
  return l
}

/** An id's two parts as decimal strings, or INVALID_ARGUMENT (each part at most 2^64 - 1), as every store words it. */
function idParts(call: string, what: string, value: unknown): [string, string] | undefined {
  const id = eventIdOption(call, what, value)
  if (id === undefined) return undefined
  const [ms = '0', seq = '0'] = id.split('-')
  return [ms, seq]
}
