/**
 * Flows of the flow-control fault tests and their worker processes (`limitWorker.ts`). Imported
 * by relative path so forked processes need no aliases.
 */
import type { Redis } from 'ioredis'
import type { FlowDefinition } from '../../packages/runner/src/index.js'
import { defineFlow } from '../../packages/runner/src/index.js'

/** The Redis set of the runs of key `key` whose handlers are between their first entry and their run's last step. */
export const holdersKey = (ns: string, key: string) => `${ns}:holders:${key}`
/** The Redis list of limit violations seen from inside the handlers. */
export const violationsKey = (ns: string) => `${ns}:violations`

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const retry = { attempts: 50, backoff: { type: 'fixed' as const, delayMs: 20 }, jitter: 0 }

/**
 * `perKey`: `concurrency: { limit: 2, key: input.key }`, steps a → b. `a` adds the run to its
 * key's holder set in Redis and checks, atomically, that the set holds at most 2 (else it records
 * a violation); `b` removes it at the end of the run's last handler. A run's slot is held from
 * admission to its end, so the set (a subset of the holders) can never exceed the limit.
 *
 * `rated`: `rateLimit: { limit: 20, period: '1s' }`, one trivial step.
 * `single`: `concurrency: { limit: 1 }`, one step that returns its input.
 * `stepOne`: one step with a step-level `concurrency: { limit: 1 }`; `onEnter` runs at its handler's entry.
 * `only`: `singleton: { key: input.u, mode: 'skip' }`, one step that returns its input.
 * `deb`: `debounce: { period: '300ms', key: input.u }`, one step that returns its input.
 */
export function limitFlows(redis: Redis, hooks: { onEnter?: (runId: string) => Promise<void> } = {}): FlowDefinition[] {
  const perKey = defineFlow<{ ns: string; key: string; ms?: number }>({
    name: 'perKey',
    concurrency: { limit: 2, key: (input) => input.key },
    steps: {
      a: {
        retry,
        handler: async (input, ctx) => {
          const n = (await redis.eval(
            "redis.call('SADD', KEYS[1], ARGV[1]); local n = redis.call('SCARD', KEYS[1]); if n > 2 then redis.call('RPUSH', KEYS[2], ARGV[1] .. ' saw ' .. n) end; return n",
            2,
            holdersKey(input.ns, input.key),
            violationsKey(input.ns),
            ctx.runId,
          )) as number
          await sleep(input.ms ?? 30)
          return n
        },
      },
      b: {
        needs: ['a'],
        retry,
        handler: async (input, ctx) => {
          await sleep(input.ms ?? 30)
          await redis.srem(holdersKey(input.ns, input.key), ctx.runId)
        },
      },
    },
  })
  const rated = defineFlow({ name: 'rated', rateLimit: { limit: 20, period: '1s' }, steps: { a: { retry, handler: async () => 1 } } })
  const single = defineFlow({ name: 'single', concurrency: { limit: 1 }, steps: { a: { retry, handler: async (input) => input } } })
  const stepOne = defineFlow<{ ms?: number }>({
    name: 'stepOne',
    steps: {
      a: {
        concurrency: { limit: 1 },
        retry,
        handler: async (input, ctx) => {
          await hooks.onEnter?.(ctx.runId)
          await sleep(input.ms ?? 30)
          return ctx.runId
        },
      },
    },
  })
  const only = defineFlow<{ u: string }>({
    name: 'only',
    singleton: { key: (input) => input.u },
    steps: { a: { retry, handler: async (input) => input } },
  })
  const deb = defineFlow<{ u: string; n: number }>({
    name: 'deb',
    debounce: { period: '300ms', key: (input) => input.u },
    steps: { a: { retry, handler: async (input) => input } },
  })
  return [perKey, rated, single, stepOne, only, deb]
}
