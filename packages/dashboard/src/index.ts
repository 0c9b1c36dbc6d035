export type { DashboardHandler, DashboardOptions } from './createDashboard.js'
export { createDashboard } from './createDashboard.js'
