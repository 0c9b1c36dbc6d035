/** The defaults of `--prefix`, `--bullmq-queue` and `--bullmq-prefix` (the store's and `createBullMQQueue`'s). */
export const OPTION_DEFAULTS = { prefix: 'lf', bullmqQueue: 'leanflow', bullmqPrefix: 'lfq' } as const
