import { createRedisStreamStore } from '@leanflow/redis'
import { createMemoryQueue, createRunner, defineFlow } from '@leanflow/runner'
import { startRedis } from '../test/helpers/redisServer.js'
const noop = async () => null
const flows = [
  defineFlow({ name: 'one', steps: { a: { handler: noop } } }),
  defineFlow({ name: 'call', steps: { a: { handler: async (_i, ctx) => ctx.invoke('one', {}) } } }),
]
const shape = process.argv[2] ?? 'call'
const server = await startRedis({ args: ['--hz', '100'] })
const store = createRedisStreamStore({ url: server.url, prefix: 'cost' })
const queue = createMemoryQueue()
const runner = createRunner({ store, queue, flows, concurrency: 25 })
await runner.start()
for (let i = 0; i < 300; i++) { const { runId } = await runner.startFlow(shape, {}); await runner.result(runId, { timeout: '60s' }) }
const c0 = process.cpuUsage(); const t0 = performance.now()
const N = Number(process.argv[3] ?? 2000)
for (let i = 0; i < N; i++) { const { runId } = await runner.startFlow(shape, {}); await runner.result(runId, { timeout: '60s' }) }
const cpu = process.cpuUsage(c0)
console.log(shape, 'wall', ((performance.now() - t0) / N).toFixed(3), 'cpu', ((cpu.user + cpu.system) / 1000 / N).toFixed(3))
await runner.stop(); await queue.close(); await store.close(); await server.stop()
