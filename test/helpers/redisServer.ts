import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { afterAll, beforeAll } from 'vitest'

/** A free TCP port on 127.0.0.1 (asks the OS for one). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.unref()
    srv.on('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address()
      const port = typeof addr === 'object' && addr ? addr.port : 0
      srv.close(() => resolve(port))
    })
  })
}

export interface RedisServer {
  port: number
  url: string
  dir: string
  /** SIGKILL the server (for crash tests). */
  kill(): Promise<void>
  /** Start it again on the same port and dir (AOF replays when enabled). */
  restart(): Promise<void>
  /** SIGSTOP the server: connections stay open and nothing answers (an unreachable Redis). */
  freeze(): void
  /** SIGCONT a frozen server (a no-op when it is not frozen). */
  thaw(): void
  /** SIGTERM and remove its dir. */
  stop(): Promise<void>
}

export interface RedisServerOptions {
  appendonly?: boolean
  /** Extra `redis-server` arguments, e.g. `['--hz', '100']`. */
  args?: string[]
  /** Start in cluster mode (for building a cluster). */
  cluster?: boolean
}

/**
 * Starts a real redis-server on a free port, in its own temp dir, and waits
 * until it accepts connections. Every integration test file starts its own.
 */
export async function startRedis(opts: RedisServerOptions = {}): Promise<RedisServer> {
  // Test files run in parallel workers: a port found free can be taken before redis-server binds
  // it (and a cluster node also needs port + 10000 for its bus), so a lost race picks another.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startRedisOn(await freePort(), opts)
    } catch (err) {
      if (attempt >= 5 || !/already in use|port number too high|bind/i.test(String(err))) throw err
    }
  }
}

async function startRedisOn(port: number, opts: RedisServerOptions): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), 'lf-redis-'))
  let proc: ChildProcess | undefined
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--save',
    '',
    '--appendonly',
    opts.appendonly ? 'yes' : 'no',
    '--appendfsync',
    'always',
    '--maxmemory-policy',
    'noeviction',
    ...(opts.cluster
      ? ['--cluster-enabled', 'yes', '--cluster-config-file', join(dir, 'nodes.conf'), '--cluster-node-timeout', '2000']
      : []),
    ...(opts.args ?? []),
  ]
  const launch = async () => {
    proc = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    proc.stdout?.on('data', (d: Buffer) => {
      out += d.toString()
    })
    proc.stderr?.on('data', (d: Buffer) => {
      out += d.toString()
    })
    const deadline = Date.now() + 10_000
    while (!/Ready to accept connections/.test(out)) {
      if (proc.exitCode !== null) throw new Error(`redis-server exited: ${out}`)
      if (Date.now() > deadline) throw new Error(`redis-server did not start on ${port}: ${out}`)
      await new Promise((r) => setTimeout(r, 20))
    }
  }
  const waitExit = (p: ChildProcess | undefined, signal: NodeJS.Signals) =>
    new Promise<void>((resolve) => {
      if (!p || p.exitCode !== null || p.signalCode !== null) return resolve()
      p.once('exit', () => resolve())
      p.kill(signal)
    })
  let frozen = false
  try {
    await launch()
  } catch (err) {
    rmSync(dir, { recursive: true, force: true })
    throw err
  }
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    kill: () => waitExit(proc, 'SIGKILL'),
    restart: launch,
    freeze() {
      proc?.kill('SIGSTOP')
      frozen = true
    },
    thaw() {
      if (frozen) proc?.kill('SIGCONT')
      frozen = false
    },
    async stop() {
      if (frozen) proc?.kill('SIGCONT')
      await waitExit(proc, 'SIGTERM')
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** What `useRedisServer` returns: the server's fields and methods, valid inside tests and hooks. */
export interface UsedRedisServer extends RedisServer {
  /** An ioredis client on the server (only with `{ client: true }`), opened in `beforeAll`. */
  readonly client: Redis
}

/**
 * The start/stop block of a test file that needs one redis-server: registers a `beforeAll` that
 * starts it (and, with `client: true`, opens an ioredis client on it) and an `afterAll` that
 * disconnects the client and stops the server. Call it before the file's own hooks: its
 * `beforeAll` then runs first and its `afterAll` last (Vitest runs after-hooks in reverse order),
 * so the file's stores are closed before the server stops. The fields throw until `beforeAll`.
 *
 * @example
 * const redis = useRedisServer({ client: true })
 * it('stores', async () => {
 *   await redis.client.set('k', 'v')
 *   const store = createRedisStreamStore({ url: redis.url })
 * })
 */
export function useRedisServer(opts: RedisServerOptions & { client?: boolean } = {}): UsedRedisServer {
  let server: RedisServer | undefined
  let client: Redis | undefined
  const started = (): RedisServer => {
    if (!server)
      throw new Error(
        'useRedisServer: the server starts in beforeAll; read its fields inside a test or a hook, not while the file is collected',
      )
    return server
  }
  beforeAll(async () => {
    server = await startRedis(opts)
    if (opts.client) client = new Redis(server.url)
  })
  afterAll(async () => {
    client?.disconnect()
    await server?.stop()
  })
  return {
    get port() {
      return started().port
    },
    get url() {
      return started().url
    },
    get dir() {
      return started().dir
    },
    get client() {
      started()
      if (!client) throw new Error('useRedisServer: no client was asked for; pass { client: true }')
      return client
    },
    kill: () => started().kill(),
    restart: () => started().restart(),
    freeze: () => started().freeze(),
    thaw: () => started().thaw(),
    stop: () => started().stop(),
  }
}
