// The RunStateStore half of the Postgres store: the run document with a version column
// (compare-and-set is an UPDATE … WHERE version = expected), lookups, external events with one
// global sequence, and kind watchers, each a table.
import {
  assertName,
  type CasRunStateOptions,
  casRunStateOptions,
  checkLookup,
  checkReadExternal,
  checkWatchKind,
  documentJson,
  idempotencyKey,
  invalidArgument,
  type LookupNamespace,
  optionsObject,
  type RunStateRecord,
  type RunStateStore,
  runStateJson,
  type StoredExternalEvent,
} from '@leanflow/core'
import type pg from 'pg'

/** A query in the caller's transaction. */
export type Sql = (text: string, values?: unknown[]) => Promise<pg.QueryResult>

export interface PostgresRunStateOptions {
  pool: pg.Pool
  /** The quoted schema name. */
  schema: string
  /** SQL for the database clock in ms. */
  now: string
  tx: <T>(fn: (sql: Sql) => Promise<T>) => Promise<T>
  retentionMs: number
}

/** The largest version the `run_state.version` column (a PostgreSQL integer) holds. */
const MAX_VERSION = 2_147_483_647

/** The run state port, and the two pieces `createRun` uses inside its own transaction. */
export function createPostgresRunState(o: PostgresRunStateOptions) {
  const { pool, schema: s, now: NOW, tx, retentionMs } = o
  const query: Sql = (text, values) => pool.query(text, values)

  async function getIn<T>(sql: Sql, runId: string): Promise<RunStateRecord<T> | null> {
    const r = await sql(`SELECT version, doc FROM ${s}.run_state WHERE run_id = $1 AND (expires_at IS NULL OR expires_at > ${NOW})`, [
      runId,
    ])
    const row = r.rows[0]
    return row ? { version: row.version as number, doc: JSON.parse(row.doc) as T } : null
  }

  const fencesJson = (fences: Record<string, string> | undefined) =>
    fences === undefined
      ? undefined
      : Object.keys(fences).length === 0
        ? null
        : JSON.stringify(Object.fromEntries(Object.entries(fences).map(([k, v]) => [k, String(v)])))

  async function insertIn(sql: Sql, runId: string, json: string, fences?: Record<string, string>): Promise<boolean> {
    await sql(`DELETE FROM ${s}.run_state WHERE run_id = $1 AND expires_at <= ${NOW}`, [runId])
    const r = await sql(
      `INSERT INTO ${s}.run_state (run_id, version, doc, fences) VALUES ($1, 1, $2, $3) ON CONFLICT DO NOTHING RETURNING version`,
      [runId, json, fencesJson(fences) ?? null],
    )
    return r.rowCount === 1
  }

  const store: RunStateStore = {
    async now() {
      return Number((await pool.query(`SELECT ${NOW} AS now`)).rows[0].now)
    },
    getRunState: async (runId) => getIn(query, assertName(runId, 'run id')),
    async casRunState<T>(runId: string, expected: number, doc: T, options?: CasRunStateOptions) {
      // the built-in stores' checks, before anything is read or written
      const opts = casRunStateOptions(runId, expected, options)
      const json = opts.json ?? runStateJson(runId, doc)
      const expires = opts.finished ? `${NOW} + ${retentionMs}` : 'NULL'
      const fences = fencesJson(opts.fences)
      let ok: boolean
      if (expected > MAX_VERSION) {
        ok = false // no document gets that far (the column is an integer): a mismatch, as on every store
      } else if (expected === 0) {
        ok = await tx(async (sql) => {
          if (!(await insertIn(sql, runId, json, opts.fences))) return false
          if (opts.finished) await sql(`UPDATE ${s}.run_state SET expires_at = ${expires} WHERE run_id = $1`, [runId])
          return true
        })
      } else {
        // READ COMMITTED: a concurrent writer's UPDATE waits, then sees the new version and matches nothing
        const r = await pool.query(
          `UPDATE ${s}.run_state SET version = version + 1, doc = $3, expires_at = ${expires},
             fences = CASE WHEN $4::boolean THEN $5::jsonb ELSE fences END
           WHERE run_id = $1 AND version = $2 AND (expires_at IS NULL OR expires_at > ${NOW})`,
          [runId, expected, json, fences !== undefined, fences ?? null],
        )
        ok = r.rowCount === 1
      }
      if (ok) return { ok: true as const, version: expected + 1 }
      return { ok: false as const, current: await getIn<T>(query, runId) }
    },
    async createRun() {
      throw new Error('createRun is the stream store’s (it needs the log)')
    },
    async putLookup(ns: LookupNamespace, key: string, value: string, ttlMs?: number) {
      checkLookup(ns, key)
      if (ttlMs !== undefined && !(typeof ttlMs === 'number' && Number.isFinite(ttlMs) && ttlMs > 0))
        throw invalidArgument(`putLookup ttlMs of ${ns} "${key}"`, ttlMs, 'a lifetime in ms above 0, or leave it out')
      return tx(async (sql) => {
        await sql(`DELETE FROM ${s}.lookups WHERE namespace = $1 AND key = $2 AND expires_at <= ${NOW}`, [ns, key])
        const expires = ttlMs === undefined ? null : ttlMs
        await sql(
          `INSERT INTO ${s}.lookups (namespace, key, value, expires_at) VALUES ($1, $2, $3, CASE WHEN $4::bigint IS NULL THEN NULL ELSE ${NOW} + $4::bigint END)
           ON CONFLICT DO NOTHING`,
          [ns, key, value, expires],
        )
        return (await sql(`SELECT value FROM ${s}.lookups WHERE namespace = $1 AND key = $2`, [ns, key])).rows[0].value as string
      })
    },
    async getLookup(ns: LookupNamespace, key: string) {
      checkLookup(ns, key)
      const r = await pool.query(
        `SELECT value FROM ${s}.lookups WHERE namespace = $1 AND key = $2 AND (expires_at IS NULL OR expires_at > ${NOW})`,
        [ns, key],
      )
      return (r.rows[0]?.value as string | undefined) ?? null
    },
    async retireLookup(ns: LookupNamespace, key: string) {
      checkLookup(ns, key)
      // its run is ending: the key goes with the run's rows, `retention` from now
      await pool.query(
        `UPDATE ${s}.lookups SET expires_at = ${NOW} + $3::bigint WHERE namespace = $1 AND key = $2 AND (expires_at IS NULL OR expires_at > ${NOW})`,
        [ns, key, retentionMs],
      )
    },
    async publishExternal<D>(kind: string, data: D, opts?: { idempotencyKey?: string }) {
      const key = idempotencyKey(
        optionsObject(opts, 'publishExternal options', '{ idempotencyKey? }', ['idempotencyKey']).idempotencyKey,
        'publishExternal idempotency key',
      )
      // refused before anything is stored, as the built-in stores do (undefined data is null)
      assertName(kind, 'event kind')
      const dataJson = documentJson(data ?? null, `The data of external event "${kind}"`, `data of external event "${kind}"`)
      return tx(async (sql) => {
        // one writer at a time: the sequence is gap-free in commit order, so a reader after a position misses nothing
        await sql(`LOCK TABLE ${s}.external_events IN EXCLUSIVE MODE`)
        if (key !== undefined) {
          const known = await sql(`SELECT record FROM ${s}.external_events WHERE idempotency_key = $1`, [key])
          if (known.rows[0]) return JSON.parse(known.rows[0].record) as StoredExternalEvent<D>
        }
        const r = await sql(`SELECT coalesce(max(seq), 0) + 1 AS seq, ${NOW} AS now FROM ${s}.external_events`)
        const seq = Number(r.rows[0].seq)
        const ms = Number(r.rows[0].now)
        const json = `{"id":"${ms}-${seq}","ts":"${new Date(ms).toISOString()}","kind":"${kind}","data":${dataJson},"seq":${seq}}`
        await sql(`INSERT INTO ${s}.external_events (seq, kind, record, idempotency_key) VALUES ($1, $2, $3, $4)`, [
          seq,
          kind,
          json,
          key ?? null,
        ])
        return JSON.parse(json) as StoredExternalEvent<D>
      })
    },
    async externalPosition() {
      return Number((await pool.query(`SELECT coalesce(max(seq), 0) AS seq FROM ${s}.external_events`)).rows[0].seq)
    },
    async readExternal(kind: string, afterSeq: number) {
      checkReadExternal(kind, afterSeq)
      const r = await pool.query(`SELECT record FROM ${s}.external_events WHERE kind = $1 AND seq > $2 ORDER BY seq`, [kind, afterSeq])
      return r.rows.map((row) => JSON.parse(row.record) as StoredExternalEvent)
    },
    async watchKind(kind: string, runId: string) {
      checkWatchKind(kind, runId)
      await pool.query(`INSERT INTO ${s}.kind_watchers (kind, run_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, [kind, runId])
    },
    async unwatchKind(kind: string, runId: string) {
      checkWatchKind(kind, runId)
      await pool.query(`DELETE FROM ${s}.kind_watchers WHERE kind = $1 AND run_id = $2`, [kind, runId])
    },
    async kindWatchers(kind: string) {
      return (await pool.query(`SELECT run_id FROM ${s}.kind_watchers WHERE kind = $1`, [kind])).rows.map((r) => r.run_id as string)
    },
  }
  return { store, getIn, insertIn }
}
