/**
 * Store writes that read and write in one transaction can lose a race with another writer (raft
 * applies the other batch first and ours fails with CONFLICT); redoing the transaction on the new
 * state is then correct. Bounded, so a hot object cannot keep the dispatcher busy forever.
 */
import { ErrorCode, isTsswarmError } from '../../lib/errors.js';
import type { Store, Tx } from '../store/index.js';

/** Most attempts of one read-modify-write transaction. */
export const maxStoreWriteAttempts = 3;

/** Runs `fn` in a store transaction, again on CONFLICT, at most maxStoreWriteAttempts times. */
export async function updateWithRetry(store: Store, fn: (tx: Tx) => void): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await store.update(fn);
      return;
    } catch (err) {
      if (!isTsswarmError(err, ErrorCode.CONFLICT) || attempt >= maxStoreWriteAttempts) throw err;
    }
  }
}
