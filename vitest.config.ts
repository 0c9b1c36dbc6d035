import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { configDefaults, defineConfig } from 'vitest/config'

const pkg = (p: string) => fileURLToPath(new URL(`./packages/${p}`, import.meta.url))

// Tests run against the packages' src/, never dist/ (no build needed).
const alias = [
  { find: /^@leanflow\/(core|redis|runner|bullmq|otel|dashboard|testing)$/, replacement: `${pkg('$1')}/src/index.ts` },
  { find: /^@leanflow\/http$/, replacement: `${pkg('http')}/src/index.ts` },
  { find: /^@leanflow\/http\/(node|express|hono|h3|client)$/, replacement: `${pkg('http')}/src/$1.ts` },
]

// The workspace runs on ioredis 5 (the low end of @leanflow/redis's peer range). The project
// `ioredis6` runs the Redis store, runner and BullMQ suites again on ioredis 6: `ioredis` and
// `bullmq` resolve to test/ioredis6's copies, whose BullMQ loads ioredis 6 itself.
const ioredis6 = createRequire(new URL('./test/ioredis6/package.json', import.meta.url))
const onIoredis6 = [
  { find: /^ioredis$/, replacement: ioredis6.resolve('ioredis') },
  { find: /^bullmq$/, replacement: ioredis6.resolve('bullmq') },
]
/** The suites that talk to Redis through ioredis (store, Cluster, runner, BullMQ, SSE), run on both majors; ~35 s alone. */
const IOREDIS_MAJOR_SUITES = [
  'test/redis/ioredisMajor.test.ts',
  'test/redis/conformance.test.ts',
  'test/redis/redisStreamStore.test.ts',
  'test/runner/redis.test.ts',
  'test/bullmq/conformance.test.ts',
  'test/bullmq/bullMQQueue.test.ts',
  'test/faults/redisSubscriberKill.test.ts',
  'test/faults/redisRestart.test.ts',
  'test/redis/cluster.conformance.test.ts',
  'test/runner/cluster.test.ts',
  'test/bullmq/cluster.test.ts',
  'test/http/sse.redis.test.ts',
  'test/contract/redis.test.ts',
]

const integration = { testTimeout: 120_000, hookTimeout: 60_000, pool: 'forks' } as const

/**
 * Files that run alone, one after another, after every other file: those that measure time — the
 * flow-control suites (overlaps and windows of real handlers' timings), the schedule faults (each
 * tick once, on time, under kills), the ticker's drift, the outage's bounded failures — so a
 * neighbour's load would bend what they measure. The other fault tests (kills, restarts, full
 * memory, each on servers of their own) assert what happened, not how fast, and run with
 * everything else, and so do the packed packages (npm installs and bundles, heavy on CPU: alone,
 * their 66 s were a minute of the run's end; beside the others, a quarter of it, 2026-12-07).
 * Everything else runs `PARALLEL` files at a time: much of an integration file's time is waiting on Redis,
 * timers and child processes, not CPU (on 2 cores, one file at a time left the CPU half idle; 3 at a
 * time ran the whole suite in 11 min 46 s against 13 min 48 s with 2, quiet, 2026-12-06, nothing failing;
 * as it grew, a fresh-clone CI took 14 min 10 s with 3 and 13 min 24 s with 4, quiet, nothing failing).
 */
const ALONE = [
  'test/faults/flowControl.test.ts',
  'test/faults/schedules*.test.ts',
  'test/faults/redisOutage.test.ts',
  'test/runner/flowControl*.test.ts',
  'test/bullmq/flowControl.test.ts',
]
const PARALLEL = 4
const alone = { maxWorkers: 1, fileParallelism: false } as const

export default defineConfig({
  resolve: { alias },
  test: {
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['packages/*/src/**/*.test.ts'], testTimeout: 20_000, maxWorkers: PARALLEL, isolate: false },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          isolate: false,
          include: ['test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, 'test/packed/**', ...ALONE],
          ...integration,
          maxWorkers: PARALLEL,
          provide: { ioredisMajor: 5 },
        },
      },
      {
        extends: true,
        test: { name: 'faults', include: ALONE, ...integration, ...alone, provide: { ioredisMajor: 5 } },
      },
      {
        extends: true,
        resolve: { alias: onIoredis6 }, // merged before the root's aliases
        test: {
          name: 'ioredis6',
          include: IOREDIS_MAJOR_SUITES.filter((f) => !f.startsWith('test/faults/')),
          ...integration,
          maxWorkers: PARALLEL,
          provide: { ioredisMajor: 6 },
        },
      },
      {
        extends: true,
        resolve: { alias: onIoredis6 },
        test: {
          name: 'ioredis6-faults',
          include: IOREDIS_MAJOR_SUITES.filter((f) => f.startsWith('test/faults/')),
          ...integration,
          ...alone,
          provide: { ioredisMajor: 6 },
        },
      },
      // The packed packages installed with npm in a fresh project (needs `pnpm run build` first).
      {
        extends: true,
        test: { name: 'packed', include: ['test/packed/**/*.test.ts'], testTimeout: 300_000, hookTimeout: 600_000, maxWorkers: PARALLEL },
      },
    ],
  },
})
