import { assertFlowName, assertName, LeanflowError } from '@leanflow/core'

/**
 * Every Redis key and channel name the store uses, built from one prefix.
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
 * ```
 */
export function createKeys(prefix = 'lf') {
  assertPrefix(prefix)
  const run = (runId: string, part: string) => `${prefix}:{${assertName(runId, 'run id')}}:${part}`
  return {
    prefix,
    /** The run's event log (a Redis Stream). */
    events: (runId: string) => run(runId, 'events'),
    /** The run's summary hash: `flow`, `status`, `startedAt`, `completedAt` (ms). */
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
    /** The Pub/Sub channel of the run's live events (a channel, not a key). */
    live: (runId: string) => run(runId, 'live'),
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
     * Every key of a run, in one slot: the append script expires them all
     * together on the run's terminal event (retention). Keys added to a run
     * later (the run state store's) belong in this list.
     */
    runKeys: (runId: string) => [run(runId, 'events'), run(runId, 'meta'), run(runId, 'idem')],
  }
}

/** The statuses the run index keeps a sorted set for: every status the reducer gives a started run. */
export const INDEXED_STATUSES = ['running', 'awaiting', 'completed', 'failed', 'canceled'] as const

/** One of {@link INDEXED_STATUSES}. */
export type IndexedStatus = (typeof INDEXED_STATUSES)[number]

/** The key builder returned by {@link createKeys}. */
export type Keys = ReturnType<typeof createKeys>

const PREFIX_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/

function assertPrefix(prefix: string): void {
  if (!PREFIX_PATTERN.test(prefix)) {
    throw new LeanflowError(
      'INVALID_ARGUMENT',
      `Invalid key prefix ${JSON.stringify(prefix)}: use 1-64 characters from A-Z a-z 0-9 _ . - (no ':', '{' or spaces), e.g. 'lf' or 'myapp.lf'.`,
    )
  }
}
