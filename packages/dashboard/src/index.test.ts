import { expect, it } from 'vitest'

it('exports its public API by name', async () => {
  expect(Object.keys(await import('./index.js')).sort()).toEqual(['createDashboard'])
})
