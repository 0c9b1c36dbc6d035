import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { builtinModules } from 'node:module'
import { join } from 'node:path'
import { build } from 'esbuild'
import { beforeAll, describe, expect, it } from 'vitest'

const dist = join(import.meta.dirname, '../../packages/core/dist')

// @leanflow/core runs in browsers: its built output must not reference Node builtins.
describe('@leanflow/core is browser-safe', () => {
  beforeAll(() => {
    execFileSync('pnpm', ['--filter', '@leanflow/core', 'run', 'build'], { stdio: 'pipe' })
  }, 120_000)

  it('its dist references no node: module and no Node builtin', () => {
    const files = readdirSync(dist).filter((f) => /\.(c?js)$/.test(f))
    expect(files.length).toBeGreaterThan(0)
    const builtins = builtinModules.filter((m) => !m.startsWith('_'))
    for (const f of files) {
      const src = readFileSync(join(dist, f), 'utf8')
      expect(src, f).not.toMatch(/["']node:/)
      for (const m of builtins) {
        expect(src, `${f} imports ${m}`).not.toMatch(new RegExp(`(from\\s*|require\\(|import\\()["']${m}(/[^"']*)?["']`))
      }
    }
  })

  it('bundles for the browser platform with esbuild', async () => {
    const out = await build({
      entryPoints: [join(dist, 'index.js')],
      bundle: true,
      platform: 'browser',
      format: 'esm',
      write: false,
      logLevel: 'silent',
    })
    expect(out.errors).toEqual([])
    expect(out.outputFiles[0]!.text.length).toBeGreaterThan(1000)
  })
})
