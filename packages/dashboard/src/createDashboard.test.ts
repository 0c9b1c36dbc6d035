import { gzipSync } from 'node:zlib'
import { isLeanflowError } from '@leanflow/core'
import { describe, expect, it } from 'vitest'
import { createDashboard } from './createDashboard.js'

const get = (h: (req: Request) => Promise<Response>, path: string, init?: RequestInit) => h(new Request(`http://app.test${path}`, init))

describe('createDashboard', () => {
  it('serves the page under basePath with its config as inert JSON, the title escaped', async () => {
    const h = createDashboard({ apiBase: '/api/flows/', basePath: '/ops/', title: 'Acme </script><b>' })
    for (const path of ['/ops', '/ops/', '/ops/index.html']) {
      const res = await get(h, path)
      expect(res.status, path).toBe(200)
      expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8')
      expect(res.headers.get('content-security-policy')).toContain("script-src 'self'")
      const html = await res.text()
      expect(html).toContain('<script type="module" src="/ops/app.js"></script>')
      expect(html).toContain('<link rel="stylesheet" href="/ops/app.css">')
      // an icon of its own: the browser asks no /favicon.ico of the app (a 404 in the console)
      expect(html).toContain('<link rel="icon" href="data:,">')
      expect(html).toContain('<title>Acme &lt;/script&gt;&lt;b&gt;</title>')
      expect(html).not.toMatch(/https?:\/\//) // no CDN
      const json = /<script type="application\/json" id="leanflow-dashboard-config">(.*?)<\/script>/.exec(html)?.[1]
      expect(json).not.toContain('</')
      expect(JSON.parse(json as string)).toEqual({ apiBase: '/api/flows', basePath: '/ops', title: 'Acme </script><b>' })
    }
  })

  it('serves the bundled script and stylesheet; HEAD without a body', async () => {
    const h = createDashboard()
    const js = await get(h, '/dashboard/app.js')
    expect(js.status).toBe(200)
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8')
    expect((await js.text()).length).toBeGreaterThan(10_000)
    const css = await get(h, '/dashboard/app.css')
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8')
    expect(await css.text()).toMatch(/prefers-color-scheme: ?dark/)
    const head = await get(h, '/dashboard/', { method: 'HEAD' })
    expect(head.status).toBe(200)
    expect(await head.text()).toBe('')
  }, 30_000)

  it('the whole page is at most 80 KB gzipped (test/packed/bundleSize.test.ts checks the built one too)', async () => {
    const h = createDashboard()
    const gz = async (path: string) => gzipSync(await (await get(h, path)).text()).length
    const total = (await gz('/dashboard/')) + (await gz('/dashboard/app.js')) + (await gz('/dashboard/app.css'))
    expect(total).toBeGreaterThan(5_000)
    expect(total).toBeLessThanOrEqual(80 * 1024)
  }, 30_000)

  it('answers 404 outside its files and 405 to other methods, naming the fix', async () => {
    const h = createDashboard({ basePath: '/dashboard' })
    for (const path of ['/dashboardx', '/dashboard/nope.js', '/', '/flows']) {
      const res = await get(h, path)
      expect(res.status, path).toBe(404)
      expect(await res.text()).toContain('the page is /dashboard/')
    }
    const post = await get(h, '/dashboard/', { method: 'POST' })
    expect(post.status).toBe(405)
    expect(post.headers.get('allow')).toBe('GET, HEAD')
  })

  it('mounts at the root with basePath "/"', async () => {
    const h = createDashboard({ basePath: '/' })
    expect((await get(h, '/')).status).toBe(200)
    expect(await (await get(h, '/')).text()).toContain('src="/app.js"')
  })

  it('mounts at a path with non-ASCII characters, as the request URL has it (percent-encoded) and as the page links it', async () => {
    const h = createDashboard({ basePath: '/tableau-de-bord-é', apiBase: '/flüsse' })
    const res = await get(h, '/tableau-de-bord-é/')
    expect(res.status).toBe(200)
    const html = await res.text()
    expect(html).toContain('src="/tableau-de-bord-%C3%A9/app.js"')
    expect(html).toContain('"apiBase":"/fl%C3%BCsse"')
    expect((await get(h, '/tableau-de-bord-%C3%A9/app.css')).status).toBe(200)
  })

  it('refuses a relative or unsafe path, naming the value, with INVALID_ARGUMENT as every leanflow error', () => {
    expect(() => createDashboard({ basePath: 'dashboard' })).toThrow(
      `Invalid dashboard basePath "dashboard": pass an absolute path such as '/dashboard'.`,
    )
    expect(() => createDashboard({ apiBase: '/flows"><script>' })).toThrow('Invalid dashboard apiBase')
    const refused = [{ basePath: 'dashboard' }, { apiBase: 'http://other/flows' }, { title: 42 as never }].map((o) => {
      try {
        createDashboard(o)
      } catch (err) {
        return err
      }
      return undefined
    })
    for (const err of refused) expect(isLeanflowError(err, 'INVALID_ARGUMENT'), String(err)).toBe(true)
    expect(String((refused[1] as Error).message)).toContain("such as '/flows'")
  })
})
