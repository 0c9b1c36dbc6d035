import { flowNameOf, type Shell } from '../shell/shell.js'
import { unknownFlow } from '../shell/unknownFlow.js'
import type { FlowDefinition, LimitInfo } from '../types.js'

/**
 * `runner.limits(flow)`: the flow's limits in use (the flow's own, then each step's), holders and
 * waiters per limit and key; empty for a flow without flow control. The flow or its name.
 *
 * @example
 * ```ts
 * const { limits } = await limitsInUse(shell, 'sync') // [{ scope: 'flow', kind: 'concurrency', key: '', active: 1, queued: 0 }]
 * ```
 */
export async function limitsInUse(shell: Shell, flow: string | FlowDefinition): Promise<{ limits: LimitInfo[] }> {
  const name = flowNameOf(flow) as string
  if (!shell.flows.has(name)) {
    throw unknownFlow(String(name), shell.flows.keys())
  }
  const fc = shell.controls.get(name)
  if (!fc || !shell.limits) return { limits: [] }
  const lim = shell.limits
  const scopes = [['flow', name], ...Object.keys(fc.steps).map((s) => [s, `${name}/${s}`])] as const
  const out: LimitInfo[] = []
  for (const [scope, key] of scopes) {
    for (const u of await lim.limitUsage(key)) {
      out.push({ scope, kind: u.kind === 'rate' ? 'rateLimit' : 'concurrency', key: u.key, active: u.active, queued: u.queued })
    }
  }
  return { limits: out }
}
