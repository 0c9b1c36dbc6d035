// The dashboard's handler through every transport the API has (the handler in-process, node:http,
// Express, Hono and h3, each mounted as their docs say): the page, its script and stylesheet, a
// 404 and a 405, as createDashboard answers them.
import { createDashboard } from '@leanflow/dashboard'
import { expect, it } from 'vitest'
import { describeMatrix } from '../helpers/httpMatrix.js'

// the matrix mounts its handler at /flows: the dashboard is mounted there for this test
describeMatrix(
  'createDashboard through each adapter',
  () => createDashboard({ apiBase: '/api', basePath: '/flows', title: 'Ops' }),
  (t) => {
    it('serves the page, its script and its stylesheet', async () => {
      const page = await t().fetch('/flows/')
      expect(page.status).toBe(200)
      expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8')
      const html = await page.text()
      expect(html).toContain('<script type="module" src="/flows/app.js"></script>')
      expect(html).toContain('"apiBase":"/api"')
      const js = await t().fetch('/flows/app.js')
      expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8')
      expect((await js.text()).length).toBeGreaterThan(10_000)
      expect((await t().fetch('/flows/app.css')).status).toBe(200)
    }, 30_000)

    it('answers 404 for other files and 405 for other methods', async () => {
      expect((await t().fetch('/flows/nope.js')).status).toBe(404)
      const post = await t().fetch('/flows/', { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } })
      expect(post.status).toBe(405)
      expect(post.headers.get('allow')).toBe('GET, HEAD')
    })
  },
)
