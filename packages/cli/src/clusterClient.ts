import { Cluster } from 'ioredis'

/**
 * A Cluster client for `--cluster`: the `--redis` URL names one node (a seed: ioredis finds the
 * others from it), its user, password and TLS (`rediss://`) go to every node. Bounded as the
 * store's own connections are: each command by `commandTimeout`, and a cluster none of whose
 * nodes answers gives up after a few tries (the command fails, exit 4). The caller closes it.
 *
 * @example
 * ```ts
 * const cluster = clusterClient('redis://:secret@10.0.0.5:7000', 3000)
 * ```
 */
export function clusterClient(url: string, commandTimeout: number): Cluster {
  const u = new URL(url)
  const port = u.port === '' ? 6379 : Number(u.port)
  const username = u.username === '' ? undefined : decodeURIComponent(u.username)
  const password = u.password === '' ? undefined : decodeURIComponent(u.password)
  return new Cluster([{ host: u.hostname.replace(/^\[|\]$/g, ''), port }], {
    redisOptions: {
      ...(username === undefined ? {} : { username }),
      ...(password === undefined ? {} : { password }),
      ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
      connectionName: 'leanflow-cli',
      commandTimeout,
    },
    clusterRetryStrategy: (times) => (times > 3 ? null : 200),
  })
}
