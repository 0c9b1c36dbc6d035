import { customAlphabet } from 'nanoid'

/** A new random id of 21 characters over [A-Za-z0-9]: run ids, trigger ids, leases. */
export const newId = customAlphabet('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz', 21)
