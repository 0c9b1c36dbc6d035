import type { Redis } from 'ioredis'
import { startRedis } from '../../test/helpers/redisServer.js'

/** A Redis for a benchmark: `REDIS_URL` when set (left running), else a fresh redis-server (stopped by `stop()`). */
export async function benchRedis(args: string[] = []): Promise<{ url: string; port: number; host: string; stop(): Promise<void> }> {
  const env = process.env.REDIS_URL
  if (env) {
    const u = new URL(env)
    return { url: env, host: u.hostname, port: Number(u.port || 6379), stop: async () => {} }
  }
  const server = await startRedis({ args: ['--appendonly', 'no', ...args] })
  return { url: server.url, host: '127.0.0.1', port: server.port, stop: () => server.stop() }
}

/** A typical ~250-byte event (a step completion with a small result and meta). */
export function typicalEvent(runId: string, i: number) {
  return {
    kind: 'step.completed',
    flow: runId,
    step: 'charge-card',
    data: {
      result: { ok: true, chargeId: `ch_3PqZ8x2eZvKYlo2C0a${String(i).padStart(6, '0')}`, amount: 1299, currency: 'usd' },
      duration: 123,
    },
    meta: { attempt: 1, jobId: `job-${runId}-charge-card-1` },
  }
}

/** Redis's CPU seconds so far (user + sys), from INFO cpu. */
export async function redisCpuSeconds(r: Redis): Promise<number> {
  const info = await r.info('cpu')
  return Number(/used_cpu_user:([\d.]+)/.exec(info)?.[1]) + Number(/used_cpu_sys:([\d.]+)/.exec(info)?.[1])
}
