import { LeanflowError } from '@leanflow/core'

/**
 * Refuses a worker whose plain connection (a `url`, or a `Redis` client) reaches a node of a Redis
 * Cluster: every queue command would answer `MOVED` or `CROSSSLOT`, and BullMQ's worker retries
 * its fetch in a loop, thousands of errors a second, while `process()` had resolved. One `INFO
 * cluster` when the worker is ready; a server that refuses `INFO` (an ACL) is let through.
 *
 * @param client The worker's connection (BullMQ's `getBackend().client`).
 */
export async function refuseClusterNode(client: unknown): Promise<void> {
  const info = (client as { info?: (section: string) => Promise<string> } | null)?.info
  if (typeof info !== 'function') return
  let text: string
  try {
    text = await info.call(client, 'cluster')
  } catch {
    return
  }
  if (!/^cluster_enabled:1\b/m.test(text)) return
  throw new LeanflowError(
    'INVALID_ARGUMENT',
    "The queue's Redis is a node of a Redis Cluster, reached by a plain connection, which does not follow the cluster's slots: every queue command would fail (MOVED, CROSSSLOT). Pass a Cluster client, createBullMQQueue({ connection: new Cluster([{ host, port }]) }); its default prefix '{lfq}' keeps the queue's keys in one slot.",
  )
}
