// The outbox of child outcomes of the Postgres store (`putChildOutcome`, `takeChildOutcomes`,
// `dropChildOutcomes`): one row per parent (who tells, when it was last taken, its deadline) and
// one per child outcome. Each call is one transaction; a put and a take lock the parent's row
// first, so a take sees every put that came before it.
import {
  assertName,
  type ChildOutcomeEntry,
  type PutChildOutcomeOptions,
  type PutChildOutcomeResult,
  type RunStateStore,
} from '@leanflow/core'
import type pg from 'pg'
import type { Sql } from './postgresRunState.js'

export interface PostgresOutboxOptions {
  pool: pg.Pool
  /** The quoted schema name. */
  schema: string
  /** SQL for the database clock in ms. */
  now: string
  tx: <T>(fn: (sql: Sql) => Promise<T>) => Promise<T>
  retentionMs: number
}

type Outbox = Required<Pick<RunStateStore, 'putChildOutcome' | 'takeChildOutcomes' | 'dropChildOutcomes'>>

export function createPostgresOutbox(o: PostgresOutboxOptions): Outbox {
  const { pool, schema: s, now: NOW, tx, retentionMs } = o

  /** Ends the teller's turn and returns every outcome of the outbox, in the caller's transaction. */
  async function takeIn(sql: Sql, parent: string): Promise<ChildOutcomeEntry[]> {
    const box = await sql(
      `UPDATE ${s}.outboxes SET teller = NULL, taken_ms = ${NOW} WHERE parent = $1 AND expires_at > ${NOW} RETURNING parent`,
      [parent],
    )
    if (box.rowCount === 0) return []
    const rows = await sql(`SELECT child, outcome FROM ${s}.child_outcomes WHERE parent = $1`, [parent])
    return rows.rows.map((r) => ({ childRunId: r.child as string, outcome: JSON.parse(r.outcome as string) as unknown }))
  }

  return {
    async putChildOutcome(
      parent: string,
      child: string,
      outcome: unknown,
      opts: PutChildOutcomeOptions = {},
    ): Promise<PutChildOutcomeResult> {
      assertName(child, 'run id')
      return tx(async (sql) => {
        const doc = await sql(`SELECT expires_at FROM ${s}.run_state WHERE run_id = $1 AND (expires_at IS NULL OR expires_at > ${NOW})`, [
          parent,
        ])
        if (doc.rowCount === 0) return { tell: false }
        // the parent's row, locked until commit; an expired outbox starts over
        const deadline = `LEAST(${NOW} + ${retentionMs}, COALESCE($2::bigint, ${NOW} + ${retentionMs}))`
        const box = await sql(
          `INSERT INTO ${s}.outboxes (parent, expires_at) VALUES ($1, ${deadline})
           ON CONFLICT (parent) DO UPDATE SET expires_at = EXCLUDED.expires_at,
             teller = CASE WHEN ${s}.outboxes.expires_at <= ${NOW} THEN NULL ELSE ${s}.outboxes.teller END,
             taken_ms = CASE WHEN ${s}.outboxes.expires_at <= ${NOW} THEN NULL ELSE ${s}.outboxes.taken_ms END
           RETURNING teller, taken_ms, ${NOW} AS now`,
          [parent, doc.rows[0].expires_at],
        )
        const row = box.rows[0]
        await sql(
          `INSERT INTO ${s}.child_outcomes (parent, child, outcome) VALUES ($1, $2, $3)
           ON CONFLICT (parent, child) DO NOTHING`,
          [parent, child, JSON.stringify(outcome ?? null)],
        )
        if (row.teller !== null && row.teller !== child) return { tell: false }
        const res: PutChildOutcomeResult =
          row.taken_ms === null ? { tell: true } : { tell: true, sinceTakeMs: Math.max(0, Number(row.now) - Number(row.taken_ms)) }
        if (opts.take) res.taken = await takeIn(sql, parent)
        else if (row.teller === null) await sql(`UPDATE ${s}.outboxes SET teller = $2 WHERE parent = $1`, [parent, child])
        return res
      })
    },
    async takeChildOutcomes(parent: string): Promise<ChildOutcomeEntry[]> {
      return tx((sql) => takeIn(sql, parent))
    },
    async dropChildOutcomes(parent: string, children: readonly string[]) {
      if (children.length === 0) return
      await pool.query(`DELETE FROM ${s}.child_outcomes WHERE parent = $1 AND child = ANY($2::text[])`, [parent, [...children]])
    },
  }
}
