// The user's project of test/packed: the packages packed as npm would publish them, and what the
// docs tell a user to install, read from their `npm install` lines.
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join, relative } from 'node:path'
import { run } from './processes.js'

/** The packages of the workspace, by npm name, with their directory. */
export function workspacePackages(root: string): Array<{ name: string; dir: string }> {
  return readdirSync(join(root, 'packages'))
    .map((p) => join(root, 'packages', p))
    .filter((dir) => existsSync(join(dir, 'package.json')))
    .map((dir) => ({ name: (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name: string }).name, dir }))
}

function newest(dir: string, skip: RegExp): number {
  let t = 0
  for (const f of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    if (skip.test(f)) continue
    const s = statSync(join(dir, f))
    if (s.isFile()) t = Math.max(t, s.mtimeMs)
  }
  return t
}

/**
 * Throws unless every package's `dist/` was built after its last source change: the packed test
 * checks what `pnpm run build` made (the test command builds first). PACKED_ALLOW_STALE_DIST=1
 * packs it anyway (while sources change under a long edit).
 */
export function assertBuilt(root: string): void {
  const stale: string[] = []
  for (const { name, dir } of workspacePackages(root)) {
    const dist = join(dir, 'dist')
    if (!existsSync(join(dist, 'index.js'))) {
      stale.push(`${name}: no dist/index.js`)
      continue
    }
    const built = statSync(join(dist, 'index.js')).mtimeMs
    const changed = Math.max(newest(join(dir, 'src'), /\.test\.ts$/), statSync(join(dir, 'package.json')).mtimeMs)
    if (changed > built) stale.push(`${name}: ${relative(root, dist)} is older than its sources`)
  }
  if (stale.length > 0 && process.env.PACKED_ALLOW_STALE_DIST !== '1') {
    throw new Error(
      `The packed test packs dist/ as built: ${stale.join('; ')}. Run \`pnpm run build\` first (\`pnpm test\` does), or set PACKED_ALLOW_STALE_DIST=1 to pack it anyway.`,
    )
  }
}

/** `pnpm pack` of every package into `into` (workspace:* ranges become versions); tarball paths by name. */
export async function packAll(root: string, into: string): Promise<Map<string, string>> {
  const tarballs = new Map<string, string>()
  for (const { name, dir } of workspacePackages(root)) {
    const before = new Set(readdirSync(into))
    await run('pnpm', ['pack', '--pack-destination', into], { cwd: dir, timeoutMs: 60_000 })
    const made = readdirSync(into).filter((f) => f.endsWith('.tgz') && !before.has(f))
    if (made.length !== 1) throw new Error(`\`pnpm pack\` in ${dir} made ${made.length} tarballs (${made.join(', ')}), expected one`)
    tarballs.set(name, join(into, made[0]!))
  }
  return tarballs
}

/** The Markdown files whose samples and install lines the docs tests read. */
export function markdownFiles(root: string): string[] {
  const files: string[] = []
  for (const f of readdirSync(join(root, 'docs'), { recursive: true, encoding: 'utf8' })) if (f.endsWith('.md')) files.push(join('docs', f))
  if (existsSync(join(root, 'README.md'))) files.push('README.md')
  for (const { dir } of workspacePackages(root)) if (existsSync(join(dir, 'README.md'))) files.push(relative(root, join(dir, 'README.md')))
  return files.sort()
}

/** What the docs' install lines name: packages (with an optional version range), runtime and dev. */
export interface InstallLines {
  dependencies: Map<string, string>
  devDependencies: Map<string, string>
  /** `file:line: text` of every line of ```sh blocks that installs with another tool. */
  otherTools: string[]
}

/**
 * Reads every `npm install …` (or `npm i …`) line of the ```sh blocks of `files`. A name without
 * a version means the newest (`*`), as a user's `npm install` gets.
 */
export function installLines(root: string, files: string[]): InstallLines {
  const out: InstallLines = { dependencies: new Map(), devDependencies: new Map(), otherTools: [] }
  for (const md of files) {
    const lines = readFileSync(join(root, md), 'utf8').split('\n')
    let inSh = false
    lines.forEach((raw, i) => {
      if (/^\s*```/.test(raw)) {
        inSh = !inSh && /^\s*```(sh|bash|shell)\s*$/.test(raw)
        return
      }
      if (!inSh) return
      const line = raw.replace(/\s+#.*$/, '').trim()
      if (/^(pnpm (add|install \S)|yarn add|bun add)\b/.test(line)) out.otherTools.push(`${md}:${i + 1}: ${line}`)
      const m = /^npm (?:install|i)\s+(.+)$/.exec(line)
      if (!m) return
      const words = m[1]!.split(/\s+/)
      const dev = words.includes('-D') || words.includes('--save-dev')
      for (const w of words) {
        if (w.startsWith('-')) continue
        const at = w.lastIndexOf('@')
        const [name, range] = at > 0 ? [w.slice(0, at), w.slice(at + 1)] : [w, '*']
        const into = dev ? out.devDependencies : out.dependencies
        if (!into.has(name) || into.get(name) === '*') into.set(name, range)
      }
    })
  }
  for (const name of out.dependencies.keys()) out.devDependencies.delete(name)
  return out
}

/** Options of {@link npmInstall}. */
export interface NpmInstallOptions {
  /** The tarball of each workspace package, by name: every `@leanflow/*` dependency installs from it. */
  tarballs: Map<string, string>
  dependencies: Record<string, string>
  devDependencies?: Record<string, string>
}

/**
 * Writes a fresh `package.json` (an ES module project) and runs `npm install`, from npm's
 * download cache first (`--prefer-offline`; npm's own cache directory, `npm_config_cache` to
 * move it). `@leanflow/*` come from the tarballs, also where one package depends on another
 * (`overrides`), so nothing of ours is fetched from the registry.
 */
export async function npmInstall(dir: string, opts: NpmInstallOptions): Promise<void> {
  const fileOf = (name: string) => {
    const tgz = opts.tarballs.get(name)
    if (!tgz) throw new Error(`The docs install ${name}, which is not a workspace package (packages/*).`)
    return `file:${tgz}`
  }
  const resolveAll = (deps: Record<string, string>) =>
    Object.fromEntries(Object.entries(deps).map(([n, r]) => [n, n.startsWith('@leanflow/') ? fileOf(n) : r]))
  const dependencies = resolveAll(opts.dependencies)
  const overrides = Object.fromEntries(Object.keys(dependencies).flatMap((n) => (n.startsWith('@leanflow/') ? [[n, fileOf(n)]] : [])))
  const pkg = {
    name: 'leanflow-packed-check',
    private: true,
    type: 'module',
    dependencies,
    devDependencies: resolveAll(opts.devDependencies ?? {}),
    overrides,
  }
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`)
  await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], { cwd: dir, timeoutMs: 420_000 })
}

/** The version of `name` that code in `dir` (the project, or a package inside its node_modules) loads. */
export function loadedVersion(dir: string, name: string): string {
  const req = createRequire(join(dir, 'package.json'))
  return (JSON.parse(readFileSync(req.resolve(`${name}/package.json`), 'utf8')) as { version: string }).version
}
