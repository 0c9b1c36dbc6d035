import { type Cluster, Redis } from 'ioredis'
import type { RedisClient } from './script.js'

/** True for an ioredis `Cluster`. */
export function isCluster(redis: RedisClient): redis is Cluster {
  return (redis as { isCluster?: boolean }).isCluster === true
}

/**
 * Opens the store's subscriber connection from its command client: a
 * duplicate of a standalone connection, or a plain connection to one
 * master of a Cluster (classic PUBLISH reaches every node of a cluster, so
 * any node can serve the subscriptions).
 */
export async function openSubscriber(redis: RedisClient, connectionName: string): Promise<Redis> {
  if (!isCluster(redis)) return redis.duplicate({ connectionName, lazyConnect: false })
  if (redis.status !== 'ready') {
    await new Promise<void>((resolve, reject) => {
      const onReady = () => {
        redis.off('end', onEnd)
        resolve()
      }
      const onEnd = () => {
        redis.off('ready', onReady)
        reject(new Error('The Redis Cluster connection ended before it was ready.'))
      }
      redis.once('ready', onReady)
      redis.once('end', onEnd)
    })
  }
  const node = redis.nodes('master')[0] ?? redis.nodes('all')[0]
  if (!node) throw new Error('The Redis Cluster has no reachable node for the subscriber connection.')
  const o = node.options
  return new Redis({
    host: o.host,
    port: o.port,
    username: o.username,
    password: o.password,
    tls: o.tls,
    family: o.family,
    connectionName,
  })
}
