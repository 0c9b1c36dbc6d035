export type { BullMQQueueOptions } from './bullMQQueue.js'
export { createBullMQQueue } from './bullMQQueue.js'
