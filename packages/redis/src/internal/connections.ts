import { type Cluster, Redis, type RedisOptions } from 'ioredis'
import type { RedisClient } from './script.js'

/** True for an ioredis `Cluster`. */
export function isCluster(redis: RedisClient): redis is Cluster {
  return (redis as { isCluster?: boolean }).isCluster === true
}

/** Resolves once `cluster` is ready (its slot map loaded); rejects if it ends first. */
export async function clusterReady(cluster: Cluster): Promise<void> {
  if (cluster.status === 'ready') return
  await new Promise<void>((resolve, reject) => {
    const onReady = () => {
      cluster.off('end', onEnd)
      resolve()
    }
    const onEnd = () => {
      cluster.off('ready', onReady)
      reject(new Error('The Redis Cluster connection ended before it was ready: check the startup nodes you passed to new Cluster().'))
    }
    cluster.once('ready', onReady)
    cluster.once('end', onEnd)
  })
}

/**
 * Options for a plain connection to one node of `cluster` (`"host:port"`): its address and the
 * credentials and TLS settings of the cluster's node connections, nothing else (a `keyPrefix`
 * would rename channels).
 */
export function nodeOptions(cluster: Cluster, node: string, connectionName: string): RedisOptions {
  const all = cluster.nodes('all')
  const o = (all.find((n) => `${n.options.host}:${n.options.port}` === node) ?? all[0])?.options ?? {}
  const at = node.lastIndexOf(':')
  return {
    host: node.slice(0, at),
    port: Number(node.slice(at + 1)),
    username: o.username,
    password: o.password,
    tls: o.tls,
    family: o.family,
    connectionName,
  }
}

/**
 * Opens the classic subscriber connection from the store's command client: a
 * duplicate of a standalone connection, or a plain connection to one
 * master of a Cluster (classic PUBLISH reaches every node of a cluster, so
 * any node can serve the subscriptions; used only on clusters without
 * sharded pub/sub, Redis < 7).
 */
export async function openSubscriber(redis: RedisClient, connectionName: string): Promise<Redis> {
  if (!isCluster(redis)) return redis.duplicate({ connectionName, lazyConnect: false })
  await clusterReady(redis)
  const node = redis.nodes('master')[0] ?? redis.nodes('all')[0]
  if (!node) throw new Error('The Redis Cluster has no reachable node for the subscriber connection.')
  return new Redis(nodeOptions(redis, `${node.options.host}:${node.options.port}`, connectionName))
}

/** The `commandTimeout` (ms) an app's own client was made with (a Cluster's node options'), if any. */
export function clientTimeout(redis: RedisClient): number | undefined {
  const o = isCluster(redis) ? redis.options.redisOptions : (redis as Redis).options
  const ms = o?.commandTimeout
  return typeof ms === 'number' && ms > 0 ? ms : undefined
}
