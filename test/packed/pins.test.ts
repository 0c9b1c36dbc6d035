// No dependency pinned to one exact version without its reason in docs/development.md: every
// exact version in the workspace's package.json files (root, packages/*, test/*) must be a row of
// the table there, with the same version, naming that place.
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { expect, it } from 'vitest'

const root = resolve(import.meta.dirname, '../..')
const DEPS = ['dependencies', 'devDependencies', 'peerDependencies', 'optionalDependencies'] as const
const EXACT = /^\d+\.\d+\.\d+(-[\w.]+)?$/

function manifests(): Array<{ where: string; pkg: Record<string, unknown> }> {
  const dirs = ['.', ...['packages', 'test'].flatMap((d) => readdirSync(join(root, d)).map((p) => `${d}/${p}`))]
  return dirs
    .filter((d) => existsSync(join(root, d, 'package.json')))
    .map((d) => ({ where: d === '.' ? 'root' : d, pkg: JSON.parse(readFileSync(join(root, d, 'package.json'), 'utf8')) }))
}

it('every exact version in a package.json has its reason in docs/development.md', () => {
  const rows = new Map<string, { version: string; where: string }>()
  for (const line of readFileSync(join(root, 'docs/development.md'), 'utf8').split('\n')) {
    const m = /^\| `([^`]+)` \| `([^`]+)` \| ([^|]+) \| \S/.exec(line)
    if (m) rows.set(m[1]!, { version: m[2]!, where: m[3]! })
  }
  expect(rows.size).toBeGreaterThan(0)
  const unexplained: string[] = []
  for (const { where, pkg } of manifests()) {
    for (const field of DEPS) {
      for (const [name, range] of Object.entries((pkg[field] ?? {}) as Record<string, string>)) {
        if (!EXACT.test(range)) continue
        const row = rows.get(name)
        if (row?.version !== range || !row.where.includes(where === 'root' ? 'root' : `\`${where}\``)) {
          unexplained.push(`${where} ${field}: ${name} ${range}`)
        }
      }
    }
  }
  expect(unexplained, 'pin these to a range, or give the reason in docs/development.md').toEqual([])
})
