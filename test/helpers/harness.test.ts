import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RedisCluster, startRedisCluster } from './redisCluster.js'
import { useRedisServer } from './redisServer.js'

describe('test harness', () => {
  const server = useRedisServer({ appendonly: true })

  it('starts a real redis-server that survives kill and restart with AOF', async () => {
    const r = new Redis(server.url)
    await r.set('k', 'v')
    r.disconnect()
    await server.kill()
    await server.restart()
    const r2 = new Redis(server.url)
    expect(await r2.get('k')).toBe('v')
    r2.disconnect()
  })
})

describe('cluster harness', () => {
  let cluster: RedisCluster
  beforeAll(async () => {
    cluster = await startRedisCluster(3)
  })
  afterAll(() => cluster.stop())
  it('forms a 3-master cluster', async () => {
    const r = new Redis(cluster.nodes[0]!.port, '127.0.0.1')
    const info = await r.cluster('INFO')
    expect(String(info)).toContain('cluster_known_nodes:3')
    r.disconnect()
  })
})
