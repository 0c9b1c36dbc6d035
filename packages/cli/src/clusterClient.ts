import { Cluster } from 'ioredis'

/** Errors of the cluster's giving up, which name no cause. */
const GENERIC = /connection is closed|failed to refresh slots cache|none of startup nodes is available/i

/**
 * A Cluster client for `--cluster`: the `--redis` URL names one node (a seed: ioredis finds the
 * others from it), its user, password and TLS (`rediss://`) go to every node. Bounded as the
 * store's own connections are: each command by `commandTimeout`, and a cluster none of whose
 * nodes answers gives up after a few tries (the command fails, exit 4). The caller closes it.
 *
 * @example
 * ```ts
 * const { cluster, lastError } = clusterClient('redis://:secret@10.0.0.5:7000', 3000)
 * ```
 */
export function clusterClient(url: string, commandTimeout: number): { cluster: Cluster; lastError: () => Error | undefined } {
  const u = new URL(url)
  const port = u.port === '' ? 6379 : Number(u.port)
  const username = u.username === '' ? undefined : decodeURIComponent(u.username)
  const password = u.password === '' ? undefined : decodeURIComponent(u.password)
  const cluster = new Cluster([{ host: u.hostname.replace(/^\[|\]$/g, ''), port }], {
    redisOptions: {
      ...(username === undefined ? {} : { username }),
      ...(password === undefined ? {} : { password }),
      ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
      connectionName: 'leanflow-cli',
      commandTimeout,
    },
    // nodes by the names the cluster gives, not resolved first: TLS checks a certificate that
    // names hosts against the name (a managed service's), not against the address
    dnsLookup: (address, callback) => callback(null, address),
    clusterRetryStrategy: (times) => (times > 3 ? null : 200),
  })
  // what the nodes answered, for the command's error (the cluster's own says only that it gave
  // up); listened to, so ioredis prints no "Unhandled error event" stack on stderr
  let last: Error | undefined
  const keep = (err: Error) => {
    const e = (err as Error & { lastNodeError?: Error }).lastNodeError ?? err
    // a giving up or a closing says nothing of why: the reason seen before it stays
    if (last === undefined || !GENERIC.test(e.message)) last = e
  }
  cluster.on('error', keep)
  cluster.on('node error', keep)
  return { cluster, lastError: () => last }
}
