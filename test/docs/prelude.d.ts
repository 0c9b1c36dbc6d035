// Free identifiers the docs' code samples use, declared for test/docs/samples.test.ts.
// They stand for the reader's own code (a payment API, a mailer, …). Keep this list short.

/** Charges the order's card; returns the payment provider's charge id. */
declare function chargeCard(orderId: string): Promise<{ chargeId: string }>
/** Refunds a charge. */
declare function refundCharge(chargeId: string): Promise<void>
/** Reserves stock for an order. */
declare function reserveStock(orderId: string): Promise<{ reserved: number }>
/** Sends an e-mail. */
declare function sendEmail(to: string, subject: string, body: string): Promise<void>
/** Ships an order; returns the tracking number. */
declare function shipOrder(orderId: string): Promise<{ tracking: string }>

// ioredis-mock ships no types, and @types/ioredis-mock is written against ioredis 5:
// docs/testing-your-flows.md tells readers to declare the module themselves, like this. Where
// @types/ioredis-mock is installed (this repository), it is used instead; in test/packed's project
// (ioredis 6, which ioredis-mock's peer range refuses) nothing is installed and this is used.
declare module 'ioredis-mock' {
  import type { Redis } from 'ioredis'

  const RedisMock: new (options?: { data?: Record<string, unknown> }) => Redis
  export default RedisMock
}
