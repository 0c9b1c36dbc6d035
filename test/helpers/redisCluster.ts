import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { Cluster } from 'ioredis'
import { afterAll, beforeAll } from 'vitest'
import { type RedisServer, startRedis } from './redisServer.js'

const run = promisify(execFile)

export interface RedisCluster {
  /** Every node (masters and replicas), as ioredis startup nodes. */
  nodes: Array<{ host: string; port: number }>
  /** Every redis-server process, in `nodes` order. */
  servers: RedisServer[]
  /** The server listening on `port`. */
  server(port: number): RedisServer
  /** Ports of the nodes that are masters now, as `CLUSTER NODES` on a live node says (roles change on a failover). */
  masters(): Promise<number[]>
  /** Resolves once the replicas of the master on `port` have every write it acknowledged (its replication offset). */
  replicated(port: number, timeoutMs?: number): Promise<void>
  stop(): Promise<void>
}

export interface RedisClusterOptions {
  /** Replicas per master (`redis-cli --cluster create --cluster-replicas`). @default 0 */
  replicas?: number
  /** `cluster-node-timeout` in ms: how long a master may be unreachable before its replica takes over. @default 2000 */
  nodeTimeoutMs?: number
}

/**
 * Starts `masters` cluster-enabled redis-servers (and `replicas` replicas of each) on free
 * ports, joins them with `redis-cli --cluster create`, and waits until every node reports the
 * cluster ok and every replica is in sync with its master.
 */
export async function startRedisCluster(masters = 3, opts: RedisClusterOptions = {}): Promise<RedisCluster> {
  const replicas = opts.replicas ?? 0
  const args = opts.nodeTimeoutMs === undefined ? [] : ['--cluster-node-timeout', String(opts.nodeTimeoutMs)]
  const servers: RedisServer[] = []
  for (let i = 0; i < masters * (1 + replicas); i++) servers.push(await startRedis({ cluster: true, args }))
  await run('redis-cli', [
    '--cluster',
    'create',
    ...servers.map((s) => `127.0.0.1:${s.port}`),
    '--cluster-replicas',
    String(replicas),
    '--cluster-yes',
  ])
  const cli = async (port: number, ...cmd: string[]) => (await run('redis-cli', ['-p', String(port), ...cmd])).stdout
  const deadline = Date.now() + 30_000
  const until = async (what: string, ok: () => Promise<boolean>) => {
    while (!(await ok())) {
      if (Date.now() > deadline) throw new Error(`Redis Cluster: ${what} after 30 s`)
      await new Promise((r) => setTimeout(r, 100))
    }
  }
  for (const s of servers)
    await until(`node ${s.port} not ok`, async () => (await cli(s.port, 'cluster', 'info')).includes('cluster_state:ok'))
  for (const s of servers) {
    await until(`node ${s.port} is neither a master nor a synced replica`, async () => {
      const info = await cli(s.port, 'info', 'replication')
      return info.includes('role:master') || info.includes('master_link_status:up')
    })
  }
  const byPort = new Map(servers.map((s) => [s.port, s]))
  return {
    nodes: servers.map((s) => ({ host: '127.0.0.1', port: s.port })),
    servers,
    server(port) {
      const s = byPort.get(port)
      if (!s) throw new Error(`No cluster node on port ${port}; nodes: ${[...byPort.keys()].join(', ')}`)
      return s
    },
    async masters() {
      for (const s of servers) {
        const out = await cli(s.port, 'cluster', 'nodes').catch(() => '')
        if (!out.includes('myself')) continue // this node is down
        return out
          .split('\n')
          .map((l) => l.split(' '))
          .filter((f) => (f[2] ?? '').split(',').includes('master') && !(f[2] ?? '').includes('fail'))
          .map((f) => Number((f[1] ?? '').split('@')[0]?.split(':')[1]))
      }
      throw new Error('Redis Cluster: no node answers CLUSTER NODES')
    },
    async replicated(port, timeoutMs = 10_000) {
      const end = Date.now() + timeoutMs
      for (;;) {
        const info = await cli(port, 'info', 'replication')
        const master = Number(/master_repl_offset:(\d+)/.exec(info)?.[1])
        const offsets = [...info.matchAll(/^slave\d+:.*offset=(\d+)/gm)].map((m) => Number(m[1]))
        if (offsets.length > 0 && offsets.every((o) => o >= master)) return
        if (Date.now() > end) throw new Error(`Replicas of ${port} still behind after ${timeoutMs} ms:\n${info}`)
        await new Promise((r) => setTimeout(r, 20))
      }
    },
    async stop() {
      await Promise.all(servers.map((s) => s.stop()))
    },
  }
}

/** The cluster and a client of it that {@link useRedisCluster} keeps for a file. */
export interface UsedRedisCluster {
  readonly cluster: RedisCluster
  /** Its nodes, as ioredis startup nodes (`cluster.nodes`). */
  readonly nodes: RedisCluster['nodes']
  /** An ioredis `Cluster` over every node. */
  readonly client: Cluster
}

/**
 * Starts a cluster of `masters` masters (and an ioredis `Cluster` client of it) in beforeAll and
 * stops both in afterAll. Read the fields inside a test or a hook.
 */
export function useRedisCluster(masters = 3, opts: RedisClusterOptions = {}): UsedRedisCluster {
  let cluster: RedisCluster | undefined
  let client: Cluster | undefined
  const started = <T>(value: T | undefined): T => {
    if (value === undefined)
      throw new Error(
        'useRedisCluster: the cluster starts in beforeAll; read its fields inside a test or a hook, not while the file is collected',
      )
    return value
  }
  beforeAll(async () => {
    cluster = await startRedisCluster(masters, opts)
    client = new Cluster(cluster.nodes)
  }, 60_000)
  afterAll(async () => {
    client?.disconnect()
    await cluster?.stop()
  })
  return {
    get cluster() {
      return started(cluster)
    },
    get nodes() {
      return started(cluster).nodes
    },
    get client() {
      return started(client)
    },
  }
}
