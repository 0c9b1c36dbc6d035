// The tables of the Postgres store, in one schema of its own (one store per schema).

/** `CREATE` statements for `schema` (a quoted identifier is made from it). Idempotent. */
export function schemaSql(schema: string): string {
  const s = quoteIdent(schema)
  return `
CREATE SCHEMA IF NOT EXISTS ${s};
-- one row per run: the last id, the event count, the folded summary, the retention deadline
CREATE TABLE IF NOT EXISTS ${s}.runs (
  run_id text PRIMARY KEY,
  last_ms bigint NOT NULL DEFAULT -1,
  last_seq bigint NOT NULL DEFAULT 0,
  events integer NOT NULL DEFAULT 0,
  fold jsonb NOT NULL,
  flow text,
  status text,
  started_ms bigint,
  expires_at bigint
);
CREATE INDEX IF NOT EXISTS runs_by_flow ON ${s}.runs (flow, started_ms DESC, run_id DESC) WHERE flow IS NOT NULL;
-- the run log: one row per event, the record as the JSON text it was appended as
CREATE TABLE IF NOT EXISTS ${s}.events (
  run_id text NOT NULL,
  ms bigint NOT NULL,
  seq bigint NOT NULL,
  record text NOT NULL,
  idempotency_key text,
  PRIMARY KEY (run_id, ms, seq)
);
CREATE UNIQUE INDEX IF NOT EXISTS events_idempotency ON ${s}.events (run_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
-- the run state: a document with a version column (compare-and-set) and the fences appends check
CREATE TABLE IF NOT EXISTS ${s}.run_state (
  run_id text PRIMARY KEY,
  version integer NOT NULL,
  doc text NOT NULL,
  fences jsonb,
  expires_at bigint
);
-- the outbox of child outcomes: per parent, who tells and when it was last taken; the outcomes
CREATE TABLE IF NOT EXISTS ${s}.outboxes (
  parent text PRIMARY KEY,
  teller text,
  taken_ms bigint,
  expires_at bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS ${s}.child_outcomes (
  parent text NOT NULL,
  child text NOT NULL,
  outcome text NOT NULL,
  PRIMARY KEY (parent, child)
);
CREATE TABLE IF NOT EXISTS ${s}.lookups (
  namespace text NOT NULL,
  key text NOT NULL,
  value text NOT NULL,
  expires_at bigint,
  PRIMARY KEY (namespace, key)
);
-- external events: one global sequence over kinds
CREATE TABLE IF NOT EXISTS ${s}.external_events (
  seq bigserial PRIMARY KEY,
  kind text NOT NULL,
  record text NOT NULL,
  idempotency_key text UNIQUE
);
CREATE INDEX IF NOT EXISTS external_by_kind ON ${s}.external_events (kind, seq);
CREATE TABLE IF NOT EXISTS ${s}.kind_watchers (
  kind text NOT NULL,
  run_id text NOT NULL,
  PRIMARY KEY (kind, run_id)
);
`
}

/** `"name"`, with inner quotes doubled: safe to splice into SQL as an identifier. */
export function quoteIdent(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(name)) {
    throw new Error(`Invalid schema name ${JSON.stringify(name)}: use letters, digits and _ (at most 63), starting with a letter or _.`)
  }
  return `"${name}"`
}
