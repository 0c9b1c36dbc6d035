// Every Redis key of @leanflow/redis, shown with the default prefix `lf`. Key strings are data:
// a renamed key orphans what is stored under the old name, so keep them byte-identical.
// Slots: a run's keys share `{<runId>}` (one script touches one slot; they all expire together,
// `retention` after the run's terminal event); a flow's index shares `{<flow>}`; external
// events share `{events}` (a run named `events` lands in that slot too, under other names);
// schedules share `{schedules}` (each schedule write is one script on that slot).
//
// | key / field                             | type    | holds                                                  |
// | --------------------------------------- | ------- | ------------------------------------------------------ |
// | lf:{<runId>}:events                     | stream  | the run's events; one field `e`: JSON {kind, flow,     |
// |                                         |         | step?, data, meta?} (id and ts: the stream id)         |
// | lf:{<runId>}:meta                       | hash    | the run's summary, fields below                        |
// |   flow, startedAt, completedAt          |         | flow name; ms of flow.started, of the terminal event   |
// |   status                                |         | running|awaiting|completed|failed|canceled (absent     |
// |                                         |         | before flow.started)                                   |
// |   sid                                   |         | id of the event that set the status (index version)    |
// |   s:<step>                              |         | a live step: `r` running or retrying, `a` awaiting     |
// |   nr, na                                |         | how many steps are `r`, `a` (awaiting: na > 0, nr = 0) |
// |   p:<step>                              |         | an awaiting step's pending await positions (' 0 2 ')   |
// |   parentRun, parentStep                 |         | data.parent of flow.started (started by ctx.invoke)    |
// |   children                              |         | how many step.await.run the run appended               |
// | lf:{<runId>}:idem                       | hash    | append idempotency key -> event id; the runner's keys: |
// |   fs, fe                                |         | flow.started; the terminal flow.* event                |
// |   ss~<step>~<attempt>                   |         | step.started                                           |
// |   sv~<step>~<attempt>~<lease>           |         | step.started of a take-over (data.recovered)           |
// |   sc~<step>, sf~<step>~<attempt>        |         | step.completed; step.failed                            |
// |   sr~<step>~<attempt>                   |         | step.retry                                             |
// |   sa~<step>~<pos>, su~<step>~<pos>      |         | step.await.* of the step's await #pos; step.resumed    |
// |   st~<step>~<pos>                       |         | step.await.timeout                                     |
// |   u~<step>~<attempt>~<n>                |         | the n-th log / emit / state.set call of an attempt     |
// |                                         |         | (`~` is no name character: no collisions)              |
// | lf:{<runId>}:leases                     | hash    | fences: name -> token (the runner: step -> lease)      |
// | lf:{<runId>}:state                      | hash    | run state: `v` version, `d` JSON (compare-and-set)     |
// | lf:{<runId>}:outbox                     | hash    | children's outcomes: child run id -> outcome JSON;     |
// |                                         |         | `~` the child telling, `@` last take ms (TTL: retention)|
// | lf:{<runId>}:live (`:live@<db>` in db>0) | channel | live records `<id> <json>` (SPUBLISH on a Cluster)     |
// | lf:flow:{<flow>}:runs                   | zset    | the flow's run ids, score = start ms                   |
// | lf:flow:{<flow>}:status:<status>        | zset    | run ids with that status (INDEXED_STATUSES), by start  |
// | lf:flow:{<flow>}:versions               | hash    | run id -> `sid` of its entry (late writes never undo)  |
// | lf:flow:{<flow>}:done                   | zset    | finished run ids, score = expiry ms (to prune)         |
// | lf:flows                                | set     | flow names that have runs                              |
// | lf:trigger:{<triggerId>}                | string  | lookup: the trigger's run id (set once: NX, a TTL)     |
// | lf:start:{<flow>/<idempotencyKey>}      | string  | lookup: the run id startFlow gave that key (NX, TTL;   |
// |                                         |         | retireLookup: retention as the run ends)               |
// | lf:{events}:seq                         | string  | external events' sequence (INCR): a run's start        |
// |                                         |         | position, "after it started" is seq > position         |
// | lf:{events}:k:<kind>                    | stream  | external events of a kind: `s` seq, `m` ms, `d` data   |
// |                                         |         | JSON; MINID-trimmed to retention, expires with it      |
// | lf:{events}:w:<kind>                    | set     | run ids awaiting an event of that kind                 |
// | lf:{events}:i:<idempotencyKey>          | string  | `<seq>|<ms>|k<kind>|<data JSON>`: first record of that |
// |                                         |         | key (older keys: `<seq>|<ms>|<data JSON>`)             |
// | lf:{schedules}:docs                     | hash    | schedule id -> `<version>|<nextRunAt>|<doc JSON>`      |
// |                                         |         | (nextRunAt empty: paused), written only by one script  |
// | lf:{schedules}:due                      | zset    | schedule ids with a nextRunAt, score = nextRunAt ms    |
// |                                         |         | (a paused schedule is absent: never due)               |
// | lf:{schedules}:floor                    | string  | the highest version a schedule delete removed: a new   |
// |                                         |         | schedule starts above it (absent before any delete)    |
// | lf:{lim:<scope>}:held                   | hash    | admitted holder -> JSON {needs, leaseMs?} (release)    |
// | lf:{lim:<scope>}:wait                   | hash    | queued holder -> JSON {needs, leaseMs?, priority}      |
// | lf:{lim:<scope>}:h:<id>:<key>           | zset    | concurrency holders, score = lease expiry ms (`inf`:   |
// |                                         |         | unleased); expired ones removed at each look           |
// | lf:{lim:<scope>}:w:<id>:<key>           | zset    | rate window: one member per admission (a seq), score = |
// |                                         |         | admission ms; older than the period removed at a look  |
// | lf:{lim:<scope>}:q:<id>:<key>           | zset    | the line of a round-robin key (first need): holders,   |
// |                                         |         | score = (100 - priority) * 1e12 + seq                  |
// | lf:{lim:<scope>}:ring                   | list    | `<id>:<key>` of the lines with waiters, in turn order  |
// | lf:{lim:<scope>}:seq                    | string  | sequence (INCR) of queue places and window members     |
// | lf:{lim:<scope>}:single                 | hash    | singleton key -> its holder                            |
// | lf:{lim:<scope>}:singleOf               | hash    | holder -> its singleton key                            |
// | lf:{lim:<scope>}:seen                   | hash    | `<id>:<key>` -> `concurrency` or `rate:<periodMs>`:    |
// |                                         |         | limits with use (limitUsage drops the idle ones)       |
// | lf:{lim:<scope>}:lim                    | hash    | `<id>:<key>` -> the limit its latest ask gave (kept   |
// |                                         |         | and dropped with its `seen` field)                     |
// | lf:{lim:<scope>}:sweep                  | string  | HSCAN cursor over `seen` of the sweep that forgets     |
// |                                         |         | expired rate keys (a minute; absent after a full pass) |
// | lf:{lim:<scope>}:d:<key>                | hash    | debounce window: holder, first, until (ms), input JSON |
// |                                         |         | (expires a minute after until: a run never settled)    |
//
// A limit scope is a flow (`order`) or a step (`order/charge`); its keys share the `{lim:<scope>}`
// slot and each limit call is one script there (lua/limits.ts builds the names from the tag).
// The runner's idempotency keys are built by `keys` in @leanflow/runner; connections are
// named `lf:<prefix>:cmd` and `lf:<prefix>:sub` (CLIENT LIST), not keys.

import { assertFlowName, assertName, checkLimitScope, LeanflowError, type LookupNamespace, shown } from '@leanflow/core'

/**
 * Every Redis key and channel name the stores use, built from one prefix (the table at the top
 * of this file explains each key and what it holds).
 * A run's keys carry the run id as a hash tag (`lf:{<runId>}:events`), so
 * they share one Cluster slot and one Lua script can touch them all. The
 * flow index and the flows set are secondary keys in other slots.
 *
 * Names are validated with `assertName`/`assertFlowName` before they reach
 * a key, so a key never contains `:`, `{`, `*` or whitespace from a name.
 *
 * @example
 * ```ts
 * const keys = createKeys('lf')
 * keys.events('r1')      // 'lf:{r1}:events'
 * keys.flowRuns('order') // 'lf:flow:{order}:runs'
 * createKeys('lf', () => 3).live('r1') // 'lf:{r1}:live@3': Pub/Sub is server-wide, not per database
 * ```
 */
export function createKeys(prefix = 'lf', db: () => number = () => 0) {
  assertPrefix(prefix)
  const run = (runId: string, part: string) => `${prefix}:{${assertName(runId, 'run id')}}:${part}`
  const lim = (scope: string, part: string) => `${prefix}:{lim:${checkLimitScope(scope)}}${part === '' ? '' : `:${part}`}`
  return {
    prefix,
    /** The run's event log (a Redis Stream). */
    events: (runId: string) => run(runId, 'events'),
    /** The run's summary hash: `flow`, `status`, `sid`, `startedAt`, `completedAt` (ms), live steps (table above). */
    meta: (runId: string) => run(runId, 'meta'),
    /** Idempotency keys of the run's appends → event id (a hash). */
    idem: (runId: string) => run(runId, 'idem'),
    /**
     * The run's fences (a hash: fence name → token; the runner: step → lease), written by the
     * run state compare-and-set, read by the append script for fenced appends.
     */
    leases: (runId: string) => run(runId, 'leases'),
    /**
     * The run's state document (a hash: `v` version, `d` JSON), written only by the run state
     * compare-and-set and the create-run script.
     */
    state: (runId: string) => run(runId, 'state'),
    /**
     * The run's outbox of its children's outcomes (a hash: child run id → outcome JSON, `~` the
     * child whose put must fold it, `@` ms of the last take), in the run's slot; it expires
     * `retention` after its last put, or with the run's state when that goes first.
     */
    outbox: (runId: string) => run(runId, 'outbox'),
    /**
     * The Pub/Sub channel of the run's live events (a channel, not a key). Pub/Sub ignores the
     * selected database, so a store in database `db()` > 0 has channels of its own (`…:live@3`).
     */
    live: (runId: string) => {
      const n = db()
      return run(runId, n === 0 ? 'live' : `live@${n}`)
    },
    /** Runs of a flow (a sorted set, score = start ms). The flow's index keys share the `{<flow>}` slot. */
    flowRuns: (flow: string) => `${prefix}:flow:{${assertFlowName(flow)}}:runs`,
    /** Finished runs of a flow (a sorted set, score = expiry ms), to prune the index. */
    flowDone: (flow: string) => `${prefix}:flow:{${assertFlowName(flow)}}:done`,
    /** Runs of a flow with one status (a sorted set, score = start ms). */
    flowStatus: (flow: string, status: IndexedStatus) => `${prefix}:flow:{${assertFlowName(flow)}}:status:${status}`,
    /** Version of each run's index entry (a hash: run id → id of the event that set its status). */
    flowVersions: (flow: string) => `${prefix}:flow:{${assertFlowName(flow)}}:versions`,
    /** Names of the flows that have runs (a set). */
    flows: () => `${prefix}:flows`,
    /**
     * A lookup (a string, in its own slot): `trigger` + trigger id, or `start` +
     * `<flow>/<idempotencyKey>` of `startFlow`, → the run id.
     */
    lookup: (namespace: LookupNamespace, key: string) => `${prefix}:${namespace}:{${key}}`,
    /** The external events' global sequence counter (a string, INCR), in the `{events}` slot. */
    externalSeq: () => `${prefix}:{events}:seq`,
    /** External events of a kind (a stream: `s` seq, `m` ms, `d` data JSON; trimmed to retention). */
    externalKind: (kind: string) => `${prefix}:{events}:k:${assertName(kind, 'event kind')}`,
    /** Runs awaiting an external event of a kind (a set of run ids). */
    externalWatchers: (kind: string) => `${prefix}:{events}:w:${assertName(kind, 'event kind')}`,
    /** The first record of an external event's idempotency key (a string `<seq>|<ms>|k<kind>|<data JSON>`; older keys lack `k<kind>|`). */
    externalIdem: (key: string) => `${prefix}:{events}:i:${key}`,
    /** Schedule documents (a hash: id → `<version>|<nextRunAt>|<doc JSON>`), in the `{schedules}` slot. */
    scheduleDocs: () => `${prefix}:{schedules}:docs`,
    /** Due index of the schedules (a sorted set: id, score = nextRunAt ms; paused ones absent), in the `{schedules}` slot. */
    scheduleDue: () => `${prefix}:{schedules}:due`,
    /** The highest version a schedule delete removed (a string; absent before any delete): new schedules start above it. */
    scheduleFloor: () => `${prefix}:{schedules}:floor`,
    /** The tag every key of a limit scope starts with (`lf:{lim:<scope>}`); lua/limits.ts appends the parts below. */
    limitBase: (scope: string) => lim(scope, ''),
    /** Admitted holders of a limit scope (a hash: holder → JSON `{needs, leaseMs?}`). */
    limitHeld: (scope: string) => lim(scope, 'held'),
    /** Queued holders of a limit scope (a hash: holder → JSON `{needs, leaseMs?, priority}`). */
    limitWaiting: (scope: string) => lim(scope, 'wait'),
    /** Holders of a concurrency limit (a sorted set, score = lease expiry ms, `inf` unleased). */
    limitSlots: (scope: string, id: string, key: string) => lim(scope, `h:${limitSlot(id, key)}`),
    /** Admissions in a rate limit's window (a sorted set: one member per admission, score = ms); expires a period after its last admission. */
    limitWindow: (scope: string, id: string, key: string) => lim(scope, `w:${limitSlot(id, key)}`),
    /** The line of a round-robin key (a sorted set: holder, score = (100 - priority) * 1e12 + seq). */
    limitLine: (scope: string, id: string, key: string) => lim(scope, `q:${limitSlot(id, key)}`),
    /** Round-robin keys with waiters, in turn order (a list of `<id>:<key>`). */
    limitRing: (scope: string) => lim(scope, 'ring'),
    /** Sequence of queue places and window members (a string, INCR). */
    limitSeq: (scope: string) => lim(scope, 'seq'),
    /** Singleton keys (a hash: key → holder). */
    limitSingletons: (scope: string) => lim(scope, 'single'),
    /** The singleton key of each holder (a hash: holder → key). */
    limitSingletonOf: (scope: string) => lim(scope, 'singleOf'),
    /**
     * Limits with use (a hash: `<id>:<key>` → `concurrency` or `rate:<periodMs>`), for limitUsage. A
     * concurrency key's entry goes once no one holds it or waits in its line; a rate key's at the
     * next limitUsage after its window expired, once its line empties, or at a later rate
     * admission's sweep (a few entries each).
     */
    limitSeen: (scope: string) => lim(scope, 'seen'),
    /** The cursor of the sweep over {@link limitSeen} that forgets rate keys whose window expired, at each call admitting into a rate window. */
    limitSweep: (scope: string) => lim(scope, 'sweep'),
    /** Each key's limit as its latest ask gave it (`<id>:<key>` → limit), kept and dropped with its `seen` field. */
    limitLimits: (scope: string) => lim(scope, 'lim'),
    /** The open debounce window of a key (a hash: holder, first, until, input). */
    limitDebounce: (scope: string, key: string) => lim(scope, `d:${limitKey(key)}`),
    /**
     * Every key of a run, in one slot: the append script expires them all
     * together on the run's terminal event (retention). Keys added to a run
     * later (the run state store's) belong in this list.
     */
    runKeys: (runId: string) => [run(runId, 'events'), run(runId, 'meta'), run(runId, 'idem')],
  }
}

/** A limit key: a name or '' (no key). */
function limitKey(key: string): string {
  if (key !== '') assertName(key, 'name')
  return key
}

/** `<id>:<key>` of a limit (ids are names, so the first `:` splits them). */
function limitSlot(id: string, key: string): string {
  return `${assertName(id, 'name')}:${limitKey(key)}`
}

/** The statuses the run index keeps a sorted set for: every status the reducer gives a started run. */
export const INDEXED_STATUSES = ['queued', 'running', 'awaiting', 'completed', 'failed', 'canceled'] as const

/** One of {@link INDEXED_STATUSES}. */
export type IndexedStatus = (typeof INDEXED_STATUSES)[number]

/** The key builder returned by {@link createKeys}. */
export type Keys = ReturnType<typeof createKeys>

const PREFIX_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/

function assertPrefix(prefix: unknown): void {
  if (typeof prefix !== 'string' || !PREFIX_PATTERN.test(prefix)) {
    throw new LeanflowError(
      'INVALID_ARGUMENT',
      `Invalid key prefix ${shown(prefix)}: use a string of 1-64 characters from A-Z a-z 0-9 _ . - (no ':', '{' or spaces), e.g. 'lf' or 'myapp.lf'.`,
    )
  }
}
