import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { type RedisServer, startRedis } from './redisServer.js'

const run = promisify(execFile)

export interface RedisCluster {
  nodes: Array<{ host: string; port: number }>
  servers: RedisServer[]
  stop(): Promise<void>
}

/** Starts `masters` cluster-enabled redis-servers on free ports and joins them with `redis-cli --cluster create`. */
export async function startRedisCluster(masters = 3): Promise<RedisCluster> {
  const servers: RedisServer[] = []
  for (let i = 0; i < masters; i++) servers.push(await startRedis({ cluster: true }))
  await run('redis-cli', ['--cluster', 'create', ...servers.map((s) => `127.0.0.1:${s.port}`), '--cluster-replicas', '0', '--cluster-yes'])
  // wait until every node reports the cluster ok
  const deadline = Date.now() + 20_000
  for (const s of servers) {
    for (;;) {
      const { stdout } = await run('redis-cli', ['-p', String(s.port), 'cluster', 'info'])
      if (stdout.includes('cluster_state:ok')) break
      if (Date.now() > deadline) throw new Error(`cluster node ${s.port} not ok: ${stdout}`)
      await new Promise((r) => setTimeout(r, 100))
    }
  }
  return {
    nodes: servers.map((s) => ({ host: '127.0.0.1', port: s.port })),
    servers,
    async stop() {
      await Promise.all(servers.map((s) => s.stop()))
    },
  }
}
