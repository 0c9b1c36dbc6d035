import { expect } from 'vitest'
import { freePort } from '../helpers/redisServer.js'
import { type Output, printed, run, start } from './processes.js'

/** Where the docs samples run: the installed project, its tsx, the Redis server, getting started's text. */
export interface SampleRunsOptions {
  tsx: string
  app: string
  redisUrl: () => string
  gettingStarted: string
}

/**
 * How the packed test runs docs samples in the installed project: to their end, a worker with a
 * producer from another process, a server with watchers and a signed trigger call.
 */
export function sampleRuns(opts: SampleRunsOptions) {
  /** Runs a sample with `npx tsx` (the bin npx would run) to its end; it must print a completed run. */
  async function runToEnd(dir: string, file: string): Promise<Output> {
    const out = await run(opts.tsx, [file], { cwd: dir, env: { REDIS_URL: opts.redisUrl() }, timeoutMs: 60_000 })
    expect(out.stdout, `${file} in ${dir}\n${printed(out)}`).toMatch(/\bcompleted\b/)
    return out
  }

  /** Starts the worker sample, runs a `hello` run through it from another process, stops it with SIGTERM. */
  async function workerRoundTrip(dir: string, file: string): Promise<void> {
    const worker = start(opts.tsx, [file], { cwd: dir, env: { REDIS_URL: opts.redisUrl() } })
    try {
      await worker.waitFor(/\S/)
      const { stdout } = await run(opts.tsx, ['producer.ts'], { cwd: dir, env: { REDIS_URL: opts.redisUrl() }, timeoutMs: 60_000 })
      expect(JSON.parse(stdout.trim().split('\n').at(-1)!), worker.report()).toEqual({
        status: 'completed',
        result: { greet: 'hello, producer' },
      })
    } finally {
      const exit = await worker.stop('SIGTERM')
      expect(exit.code, `the worker must exit by itself after SIGTERM: ${worker.report()}`).toBe(0)
    }
  }

  /** The ```sh block of getting started that signs a trigger call with openssl. */
  function signatureRecipe(port: number): string {
    const block = [...opts.gettingStarted.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!).find((b) => b.includes('openssl dgst'))
    if (!block) throw new Error('docs/getting-started.md has no ```sh block with the `openssl dgst` signature recipe')
    if (!block.includes('localhost:3000')) throw new Error('the signature recipe no longer calls localhost:3000; update test/packed')
    return block.replaceAll('localhost:3000', `127.0.0.1:${port}`)
  }

  /**
   * Starts a server sample; checks it fails closed, starts an `order` run, follows it with the
   * `watchers` samples and resolves its trigger with the recipe.
   */
  async function serverRoundTrip(file: string, watchers: string[]): Promise<void> {
    const refused = await run(opts.tsx, [file], {
      cwd: opts.app,
      env: { API_TOKEN: undefined, TRIGGER_SECRET: undefined, PORT: String(await freePort()) },
      allowFailure: true,
      timeoutMs: 30_000,
    })
    expect(refused.code, `${file} must refuse to start without API_TOKEN and TRIGGER_SECRET\n${printed(refused)}`).not.toBe(0)
    expect(refused.stderr).toMatch(/API_TOKEN/)

    const port = await freePort()
    const secrets = { API_TOKEN: 'packed-token', TRIGGER_SECRET: 'packed-secret' }
    const server = start(opts.tsx, [file], { cwd: opts.app, env: { ...secrets, PORT: String(port), REDIS_URL: opts.redisUrl() } })
    const base = `http://127.0.0.1:${port}/flows`
    const auth = { authorization: `Bearer ${secrets.API_TOKEN}` }
    try {
      await server.waitFor(/listening/)
      const anonymous = await fetch(`${base}/order/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
      expect(anonymous.status, 'a call without the token is refused').toBe(403)
      const started = await fetch(`${base}/order/runs`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ orderId: 'o-1' }),
      })
      expect(started.status, await started.clone().text()).toBe(201)
      const { runId } = (await started.json()) as { runId: string }
      const triggerId = await poll(async () => {
        const { state } = (await (await fetch(`${base}/runs/${runId}`, { headers: auth })).json()) as RunBody
        return Object.values(state.steps).find((s) => s.awaiting?.triggerId)?.awaiting?.triggerId
      }, `run ${runId} to wait for a trigger`)
      const watching = watchers.map((w) =>
        start(opts.tsx, [w, runId], { cwd: opts.app, env: { LEANFLOW_URL: base, API_TOKEN: secrets.API_TOKEN } }),
      )
      await Promise.all(watching.map((w) => w.waitFor(/awaiting/)))
      const unsigned = await fetch(`${base}/triggers/${triggerId}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      })
      expect(unsigned.status, 'a trigger call without a signature is refused').toBe(401)
      const recipe = await run('sh', ['-c', signatureRecipe(port)], {
        cwd: opts.app,
        env: { TRIGGER_ID: triggerId, TRIGGER_SECRET: secrets.TRIGGER_SECRET },
      })
      expect(recipe.stdout, printed(recipe)).toContain(`"runId":"${runId}"`)
      await poll(async () => {
        const { state } = (await (await fetch(`${base}/runs/${runId}`, { headers: auth })).json()) as RunBody
        return state.status === 'completed' ? true : undefined
      }, `run ${runId} to complete after the signed trigger call`)
      for (const w of watching) {
        const exit = await Promise.race([w.exited, new Promise<undefined>((r) => setTimeout(r, 15_000))])
        if (exit === undefined) await w.stop('SIGKILL')
        expect(exit?.code, `a watcher exits by itself once the run ended: ${w.report()}`).toBe(0)
        expect(w.stdout()).toMatch(/ended with flow\.completed/)
      }
    } catch (err) {
      throw new Error(`${String(err)}\nserver: ${server.report()}`)
    } finally {
      await server.stop('SIGTERM')
    }
  }

  interface RunBody {
    state: { status: string; steps: Record<string, { awaiting?: { triggerId?: string } }> }
  }

  async function poll<T>(fn: () => Promise<T | undefined>, what: string, ms = 15_000): Promise<T> {
    const deadline = Date.now() + ms
    for (;;) {
      const v = await fn()
      if (v !== undefined) return v
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
      await new Promise((r) => setTimeout(r, 100))
    }
  }

  return { runToEnd, workerRoundTrip, serverRoundTrip }
}
