#!/usr/bin/env node
// Renders docs/images/cli.png: real `leanflow tail` and `leanflow show` output, in color, of runs
// made here by a real runner on a throwaway redis-server. Needs `pnpm run build` first (it runs
// packages/cli/dist/bin.js), redis-server and /usr/bin/chromium. Re-run: node scripts/cli-screenshot.mjs
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { NonRetriableError } from '@leanflow/core'
import { createRedisStreamStore } from '@leanflow/redis'
import { createRunner, defineFlow } from '@leanflow/runner'
import { chromium } from 'playwright-core'

const root = fileURLToPath(new URL('..', import.meta.url))
const out = join(root, 'docs/images/cli.png')
const bin = join(root, 'packages/cli/dist/bin.js')

const port = await new Promise((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const { port } = s.address()
    s.close(() => resolve(port))
  })
})
const dir = mkdtempSync(join(tmpdir(), 'lf-cli-shot-'))
const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', ''], { stdio: 'ignore' })
const url = `redis://127.0.0.1:${port}`
for (
  let i = 0;
  i < 50 &&
  spawnSync('redis-cli', ['-p', String(port), 'ping'])
    .stdout?.toString()
    .trim() !== 'PONG';
  i++
) {
  await new Promise((r) => setTimeout(r, 100))
}

// an order whose charge fails once, then waits for an approval trigger that this script resolves
let tries = 0
const order = defineFlow({
  name: 'order',
  steps: {
    charge: {
      retry: { attempts: 3, backoff: { type: 'fixed', delayMs: 300 } },
      handler: async (input, ctx) => {
        if (++tries === 1) throw new Error('payment gateway timeout')
        ctx.logger.info('charged', { orderId: input.orderId, amount: 4200 })
        return { chargeId: 'ch_1Pz8' }
      },
    },
    approve: {
      needs: ['charge'],
      handler: async (_input, ctx) => (await ctx.await.trigger({ type: 'manager', timeout: '7d' })).wait(),
    },
    ship: { needs: ['approve'], handler: async (_input, ctx) => ctx.do('label', async () => 'DHL 00340434161094') },
  },
})
const refund = defineFlow({
  name: 'refund',
  steps: {
    lookup: { handler: async () => ({ chargeId: 'ch_0Xa1' }) },
    reverse: {
      needs: ['lookup'],
      handler: async () => {
        throw new NonRetriableError('charge ch_0Xa1 is older than 180 days')
      },
    },
  },
})
const store = createRedisStreamStore({ url })
const runner = createRunner({ store, flows: [order, refund], onError: () => {} })
await runner.start()

const cli = (args) => {
  const r = spawnSync(process.execPath, [bin, '--redis', url, ...args], { env: { ...process.env, FORCE_COLOR: '1', COLUMNS: '110' } })
  return r.stdout.toString()
}
const { runId } = await runner.startFlow('order', { orderId: 'o-1042' })
const failed = (await runner.startFlow('refund', { orderId: 'o-0977' })).runId
const until = async (pred) => {
  for (let i = 0; i < 100 && !(await pred()); i++) await new Promise((r) => setTimeout(r, 100))
}
const events = () => store.read(runId)
await until(async () => (await events()).some((e) => e.kind === 'step.await.trigger'))
const showAwaiting = cli(['show', runId])
const trigger = (await events()).find((e) => e.kind === 'step.await.trigger').data.triggerId
await runner.resolveTrigger(trigger, { approvedBy: 'dana' })
await until(async () => (await events()).some((e) => e.kind === 'flow.completed'))
await until(async () => (await store.read(failed)).some((e) => e.kind === 'flow.failed'))
const tail = cli(['tail', runId])
const showFailed = cli(['show', failed])
await runner.stop()
await store.close()
redis.kill()
rmSync(dir, { recursive: true, force: true })

const screen = [
  ['$ leanflow show', runId, showAwaiting],
  ['$ leanflow tail', runId, tail],
  ['$ leanflow show', failed, showFailed],
]
  .map(([cmd, id, text]) => `<span class="prompt">${cmd} ${id}</span>\n${ansiToHtml(text)}`)
  .join('\n')
const html = `<!doctype html><meta charset="utf-8"><style>
body { margin: 0; background: #0d1117; }
pre { margin: 0; padding: 22px 26px; font: 13px/1.45 'DejaVu Sans Mono', monospace; color: #c9d1d9; background: #0d1117; display: inline-block; }
.prompt { color: #8b949e; }
.b { font-weight: bold; } .d { opacity: .6; }
.c31 { color: #ff7b72; } .c32 { color: #3fb950; } .c33 { color: #d29922; } .c34 { color: #58a6ff; }
.c35 { color: #bc8cff; } .c36 { color: #39c5cf; } .c90 { color: #8b949e; }
</style><pre>${screen}</pre>`

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
})
const page = await browser.newPage({ viewport: { width: 1000, height: 400 }, deviceScaleFactor: 1 })
await page.setContent(html)
await page.locator('pre').screenshot({ path: out })
await browser.close()
console.log(`wrote ${out}`)

/** SGR codes the CLI writes (bold, dim, 8 colors, gray, resets) as spans; the text escaped. */
function ansiToHtml(text) {
  const esc = (s) => s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;')
  let bold = false
  let dim = false
  let color = 0
  let html = ''
  const ESC = String.fromCharCode(27)
  for (const part of text.split(new RegExp(`(${ESC}\\[[0-9;]*m)`))) {
    const m = new RegExp(`^${ESC}\\[([0-9;]*)m$`).exec(part)
    if (!m) {
      if (part === '') continue
      const cls = [bold ? 'b' : '', dim ? 'd' : '', color ? `c${color}` : ''].filter(Boolean).join(' ')
      html += cls ? `<span class="${cls}">${esc(part)}</span>` : esc(part)
      continue
    }
    for (const code of m[1].split(';').map(Number)) {
      if (code === 0) [bold, dim, color] = [false, false, 0]
      else if (code === 1) bold = true
      else if (code === 2) dim = true
      else if (code === 22) [bold, dim] = [false, false]
      else if (code === 39) color = 0
      else color = code
    }
  }
  return html
}
