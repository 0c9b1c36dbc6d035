// The Redis store on ioredis-mock (no server): the path docs/testing-your-flows.md offers for quick
// unit tests of code that constructs the Redis store. The kit's StreamStore suite runs on it; what
// ioredis-mock cannot do is declared here, case by case with the reason, and reported as skipped
// (docs/testing-your-flows.md lists the same). Proof of Redis behaviour is test/redis/conformance.test.ts.
import { createRedisStreamStore } from '@leanflow/redis'
import { describeStreamStoreConformance, uniqueName } from '@leanflow/testing'
import RedisMock from 'ioredis-mock'

/** Why: ioredis-mock's XRANGE and XREVRANGE take no exclusive `(id` bounds (they answer nothing). */
const NO_EXCLUSIVE_RANGE =
  "ioredis-mock's XRANGE/XREVRANGE ignore exclusive '(' bounds, so reads after or before an id and follow's catch-up find nothing"
/**
 * Why: ioredis-mock's Lua VM reads a missing hash field as a value (Redis gives `false`), so the
 * append script takes the wrong branches after its XADD (no atomic script there either).
 */
const MOCK_LUA =
  "ioredis-mock's Lua reads a missing hash field as a value (Redis gives false): the append script goes wrong after its XADD, so a repeated idempotency key, the run summary and the status index do not work"

const IOREDIS_MOCK_UNSUPPORTED: Record<string, string> = {
  'stores a 1 MB payload and reads it back byte-exact (F15)': `${MOCK_LUA} (and a 1 MB script argument takes ioredis-mock's Lua VM seconds)`,
  'stores __proto__ keys as plain data without polluting Object.prototype': MOCK_LUA,
  'stores one event for a repeated key and returns the first record': MOCK_LUA,
  'stores one event for 20 concurrent appends with the same key': MOCK_LUA,
  'pages forward and backward with exclusive after/before and limit': NO_EXCLUSIVE_RANGE,
  'pages through 2,500 events in pages of 1000, all of them, in order': NO_EXCLUSIVE_RANGE,
  'read: nothing before 0-0 and nothing after the largest id, in both directions; 0-0 and the largest id as open bounds':
    NO_EXCLUSIVE_RANGE,
  'follow after the largest id, or any id past the last event, of a live run throws HISTORY_GONE at once': MOCK_LUA,
  follow: NO_EXCLUSIVE_RANGE,
  'follow through a lost live channel': 'ioredis-mock has no connections to cut (and no exclusive XRANGE for the catch-up)',
  'keeps the summary on flow.started and terminal events': MOCK_LUA,
  'carries the flow version of flow.started (data.version) in the summary, before and after the run ends': MOCK_LUA,
  'lists newest first, with limit, exclusive before, status, and only the flow asked for': MOCK_LUA,
  'lists at most 50 runs by default': MOCK_LUA,
  'lists flows with their run counts': MOCK_LUA,
  "countRuns (when implemented): a flow's runs counted per status, every status present": MOCK_LUA,
  'listRuns by status (every status of a started run)': MOCK_LUA,
  'runEnd (where a run ended, from its summary)': MOCK_LUA,
  'listRuns: child runs (parent, children) and parallel awaits': MOCK_LUA,
  retention: `${MOCK_LUA}; a finished run never gets its expiry`,
  close: NO_EXCLUSIVE_RANGE,
  appendMany:
    "ioredis-mock's Lua VM (fengari) cannot answer a table of tables, the batch append script's reply (and has no cjson for the append logic)",
}

describeStreamStoreConformance(
  'redis on ioredis-mock',
  async (opts) => createRedisStreamStore({ redis: new RedisMock() as never, prefix: uniqueName('m'), ...opts }),
  { unsupported: IOREDIS_MOCK_UNSUPPORTED },
)
