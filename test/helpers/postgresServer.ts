// A throwaway PostgreSQL cluster for one test file: initdb in a temp dir, postgres on a free port
// (127.0.0.1 only, trust auth, fsync off), stopped and removed after the file. PostgreSQL refuses
// to run as root, so as root (CI) the cluster runs as the `postgres` user of the Debian package.
import { execFile } from 'node:child_process'
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll } from 'vitest'
import { freePort } from './redisServer.js'

const run = promisify(execFile)

/** The newest installed PostgreSQL's bin dir (Debian: /usr/lib/postgresql/<major>/bin). */
export function postgresBin(): string {
  const base = '/usr/lib/postgresql'
  const majors = existsSync(base) ? readdirSync(base).filter((d) => existsSync(join(base, d, 'bin/initdb'))) : []
  const major = majors.sort((a, b) => Number(b) - Number(a))[0]
  if (!major) throw new Error(`No PostgreSQL under ${base}/*/bin/initdb: install it (Debian: apt-get install -y postgresql) and run again.`)
  return join(base, major, 'bin')
}

export interface PostgresServer {
  port: number
  /** `postgres://postgres@127.0.0.1:<port>/postgres` */
  url: string
  /** Stops the server (fast shutdown) and starts it again on the same port and data dir. */
  restart(): Promise<void>
  stop(): Promise<void>
}

/** Starts a cluster. As root it runs as `postgres` (owner of the temp dir). */
export async function startPostgres(): Promise<PostgresServer> {
  const bin = postgresBin()
  const dir = mkdtempSync(join(tmpdir(), 'leanflow-pg-'))
  const asRoot = process.getuid?.() === 0
  if (asRoot) {
    const { stdout } = await run('id', ['-u', 'postgres'])
    const { stdout: gid } = await run('id', ['-g', 'postgres'])
    chownSync(dir, Number(stdout.trim()), Number(gid.trim()))
  }
  const as = (cmd: string, args: string[]) => (asRoot ? run('runuser', ['-u', 'postgres', '--', cmd, ...args]) : run(cmd, args))
  const data = join(dir, 'data')
  await as(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C'])
  const port = await freePort()
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200`
  const start = () => as(join(bin, 'pg_ctl'), ['-D', data, '-o', opts, '-l', join(dir, 'log'), '-w', 'start'])
  const stopServer = () => as(join(bin, 'pg_ctl'), ['-D', data, '-m', 'fast', '-w', 'stop'])
  await start()
  return {
    port,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    async restart() {
      await stopServer()
      await start()
    },
    async stop() {
      await stopServer().catch(() => {})
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** One cluster for the test file: started in beforeAll, stopped in afterAll. */
export function usePostgres(): PostgresServer {
  let server: PostgresServer | undefined
  const started = () => {
    if (!server) throw new Error('usePostgres: the server starts in beforeAll; read its fields inside a test or a hook')
    return server
  }
  beforeAll(async () => {
    server = await startPostgres()
  }, 60_000)
  afterAll(async () => {
    await server?.stop()
  })
  return {
    get port() {
      return started().port
    },
    get url() {
      return started().url
    },
    restart: () => started().restart(),
    stop: () => started().stop(),
  }
}
