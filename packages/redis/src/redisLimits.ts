import {
  checkDebounce,
  checkLimitHolder,
  checkLimitRequest,
  checkLimitScope,
  type DebounceAnswer,
  type LeanflowError,
  type LimitAnswer,
  type LimitStore,
  type LimitTurn,
  type LimitUsage,
  positiveInteger,
} from '@leanflow/core'
import { defineScript, type RedisClient } from './internal/script.js'
import { withStoreErrors } from './internal/storeErrors.js'
import { createKeys } from './keys.js'
import {
  LIMIT_ACQUIRE_LUA,
  LIMIT_DEBOUNCE_LUA,
  LIMIT_DROP_DEBOUNCE_LUA,
  LIMIT_HOLDERS_LUA,
  LIMIT_RELEASE_LUA,
  LIMIT_RENEW_LUA,
  LIMIT_SETTLE_LUA,
  LIMIT_USAGE_LUA,
} from './lua/limits.js'

/** Options of {@link createRedisLimits}. */
export interface RedisLimitsOptions {
  /** The command connection (or Cluster). */
  redis: RedisClient
  /** Prefix of every key. @default 'lf' */
  prefix?: string | undefined
}

const acquireScript = defineScript(LIMIT_ACQUIRE_LUA)
const releaseScript = defineScript(LIMIT_RELEASE_LUA)
const renewScript = defineScript(LIMIT_RENEW_LUA)
const usageScript = defineScript(LIMIT_USAGE_LUA)
const holdersScript = defineScript(LIMIT_HOLDERS_LUA)
const debounceScript = defineScript(LIMIT_DEBOUNCE_LUA)
const settleScript = defineScript(LIMIT_SETTLE_LUA)
const dropDebounceScript = defineScript(LIMIT_DROP_DEBOUNCE_LUA)

/** `{state, admitted, blockedId, blockedKey, retryAt (-1 none), superseded, taken, ahead (-1 none), next}` (lua/limits.ts). */
type AcquireReply = [string, string[], string, string, number, string, string, number, Array<string | number>]

/** The turns of a script's flat `{holder, retryAt, ...}`. */
function turnsOf(flat: Array<string | number> | undefined): LimitTurn[] {
  const out: LimitTurn[] = []
  for (let i = 0; flat && i + 1 < flat.length; i += 2) out.push({ holder: String(flat[i]), retryAt: Number(flat[i + 1]) })
  return out
}

/**
 * The {@link LimitStore} on Redis: each call is one Lua script on the keys of its scope (a flow or
 * `<flow>/<step>`), which share the `{lim:<scope>}` hash tag, so a decision is atomic on Redis
 * Cluster too, and every runner on the server shares the limits. Time is the server's clock.
 * Concurrency holders are a sorted set per limit and key (score: lease expiry), rate windows a
 * sorted set of admissions, the queue one sorted set per round-robin key (priority, then
 * arrival) and a list of those keys taking turns (keys.ts lists every key).
 * `createRedisStreamStore()` mixes it in.
 *
 * @example
 * ```ts
 * const limits = createRedisLimits({ redis: new Redis(url) })
 * const need = { id: 'concurrency.0', kind: 'concurrency', key: 'tenant-1', limit: 1 } as const
 * await limits.acquireLimit('sync', { holder: 'r1', needs: [need] }) // { state: 'admitted', admitted: ['r1'] }
 * await limits.acquireLimit('sync', { holder: 'r2', needs: [need] }) // { state: 'queued', admitted: [], blocked: { id: 'concurrency.0', key: 'tenant-1' } }
 * await limits.releaseLimit('sync', 'r1')                            // { admitted: ['r2'] }
 * ```
 */
export function createRedisLimits(options: RedisLimitsOptions, fatal?: () => LeanflowError | undefined): LimitStore {
  const { redis } = options
  const keys = createKeys(options.prefix ?? 'lf')
  /** KEYS (one key of the scope's tag: it routes the call) and the tag the script builds the rest from. */
  const call = (script: typeof acquireScript, key: string, scope: string, args: Array<string | number>) =>
    script.call(redis, [key], [keys.limitBase(scope), ...args])

  return withStoreErrors(
    {
      async acquireLimit(scope: string, req): Promise<LimitAnswer> {
        // every check before the script: a refused request writes nothing
        checkLimitRequest(scope, req)
        const priority = req.priority ?? 0
        const needs = req.needs.map((n) =>
          n.kind === 'rate'
            ? { id: n.id, kind: n.kind, key: n.key, limit: n.limit, periodMs: n.periodMs }
            : { id: n.id, kind: n.kind, key: n.key, limit: n.limit },
        )
        const entry = JSON.stringify(req.leaseMs === undefined ? { needs, priority } : { needs, leaseMs: req.leaseMs, priority })
        const single = req.singleton
        const args = [req.holder, entry, priority, req.onBusy ?? 'queue', single?.key ?? '', single?.mode ?? '']
        const [state, admitted, id, key, retryAt, superseded, taken, ahead, flat] = (await call(
          acquireScript,
          keys.limitHeld(scope),
          scope,
          args,
        )) as AcquireReply
        if (state === 'taken') return { state, holder: taken }
        const blocked = id === '' ? undefined : retryAt < 0 ? { id, key } : { id, key, retryAt: Number(retryAt) }
        if (state === 'refused') return { state, blocked: blocked ?? { id, key } }
        const answer: LimitAnswer = { state: state as 'admitted' | 'queued', admitted }
        if (blocked !== undefined && state === 'queued') answer.blocked = ahead >= 0 ? { ...blocked, ahead: Number(ahead) } : blocked
        if (superseded !== '') answer.superseded = superseded
        const next = turnsOf(flat)
        if (next.length > 0) answer.next = next
        return answer
      },
      async releaseLimit(scope: string, holder: string) {
        checkLimitHolder(scope, holder)
        const [admitted, flat] = (await call(releaseScript, keys.limitHeld(scope), scope, [holder])) as [string[], Array<string | number>]
        const next = turnsOf(flat)
        return next.length > 0 ? { admitted, next } : { admitted }
      },
      async renewLimit(scope: string, holder: string, leaseMs: number) {
        checkLimitHolder(scope, holder)
        positiveInteger(leaseMs, 'renewLimit leaseMs')
        return (await call(renewScript, keys.limitHeld(scope), scope, [holder, leaseMs])) === 1
      },
      async limitHolders(scope: string) {
        checkLimitScope(scope)
        const holders = (await call(holdersScript, keys.limitSeen(scope), scope, [])) as string[]
        return [...new Set(holders)].sort()
      },
      async limitUsage(scope: string) {
        checkLimitScope(scope)
        const flat = (await call(usageScript, keys.limitSeen(scope), scope, [])) as Array<string | number>
        const out: LimitUsage[] = []
        for (let i = 0; i + 3 < flat.length; i += 4) {
          const slot = String(flat[i])
          const at = slot.indexOf(':')
          const kind = String(flat[i + 1]) === 'concurrency' ? 'concurrency' : 'rate'
          out.push({ id: slot.slice(0, at), kind, key: slot.slice(at + 1), active: Number(flat[i + 2]), queued: Number(flat[i + 3]) })
        }
        return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
      },
      async debounce(scope: string, key: string, holder: string, opts): Promise<DebounceAnswer> {
        const json = checkDebounce(scope, key, holder, opts)
        const args = [holder, opts.periodMs, opts.maxWaitMs ?? '', json]
        const [h, until, first] = (await call(debounceScript, keys.limitDebounce(scope, key), scope, args)) as [string, number, number]
        return { holder: h, until: Number(until), first: first === 1 }
      },
      async settleDebounce(scope: string, key: string, holder: string) {
        checkDebounce(scope, key, holder)
        const reply = (await call(settleScript, keys.limitDebounce(scope, key), scope, [holder])) as [number, (number | string)?]
        if (reply[0] === 2) return { input: JSON.parse(String(reply[1])) as unknown }
        if (reply[0] === 1) return { until: Number(reply[1]) }
        return null
      },
      async dropDebounce(scope: string, key: string, holder: string) {
        checkDebounce(scope, key, holder)
        return (await call(dropDebounceScript, keys.limitDebounce(scope, key), scope, [holder])) === 1
      },
    },
    fatal,
    redis,
  )
}
