/**
 * Keeps a node's certificate renewed: one timer at a random point between 50% and 80% of the
 * current certificate's life (manager/ca/renewal.ts), then `renew()`, which gets a new certificate
 * from a manager and puts it to use. A failed renewal is retried with a doubling delay (1 min up
 * to 15 min, never past the certificate's end); an expired certificate is reported once, since
 * the node can then no longer reach any manager and has to leave and join again.
 *
 * `schedule()` is called whenever the node's certificate changes (init, join, restart, role
 * changes, renewal itself) and `stop()` when it leaves the swarm or shuts down.
 */
import type { Clock, Timer } from '../lib/clock.js';
import { errorMessage } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import type { Rng } from '../lib/rng.js';
import { renewalDelayMs, type Validity } from '../manager/ca/renewal.js';

/** First retry delay after a failed renewal. */
export const firstRetryMs = 60_000;
/** Longest retry delay. */
export const maxRetryMs = 15 * 60_000;

export interface CertRenewalOptions {
  readonly clock: Clock;
  readonly rng: Rng;
  /** Wall-clock now, ms since the epoch (certificate validity is wall time). */
  readonly wallNowMs: () => number;
  readonly log: Logger;
  /** Renews the certificate and puts the new one to use (which calls schedule() again). */
  readonly renew: () => Promise<void>;
  /**
   * TEST ONLY: the first renewal comes this many ms after the first schedule() instead of at
   * 50-80% of the life (later ones use the window). Lab tests set it through
   * TSSWARM_TEST_CERT_RENEW_MS to see a renewal within seconds.
   */
  readonly firstRenewalMs?: number;
}

/** The renewal timer of one node (see the file comment). */
export class CertRenewal {
  private timer: Timer | undefined;
  private validity: Validity | undefined;
  private retryMs = firstRetryMs;
  private renewing = false;
  private expiredReported = false;
  private firstRenewalMs: number | undefined;

  constructor(private readonly options: CertRenewalOptions) {
    this.firstRenewalMs = options.firstRenewalMs;
  }

  /** Plans the renewal of a certificate with `validity`, replacing any earlier plan. */
  schedule(validity: Validity): void {
    this.cancel();
    this.validity = validity;
    this.retryMs = firstRetryMs;
    this.expiredReported = false;
    const delayMs = this.firstRenewalMs ?? renewalDelayMs(validity, this.options.wallNowMs(), this.options.rng);
    this.firstRenewalMs = undefined;
    this.options.log.info({ renewInMs: delayMs, notAfter: new Date(validity.notAfterMs).toISOString() }, 'certificate renewal planned');
    this.timer = this.options.clock.setTimer(delayMs, () => void this.due());
  }

  /** No renewal until the next schedule(). */
  stop(): void {
    this.cancel();
    this.validity = undefined;
  }

  /** True while a renewal is planned or under way. */
  get planned(): boolean {
    return this.timer !== undefined || this.renewing;
  }

  private cancel(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  private async due(): Promise<void> {
    this.timer = undefined;
    const validity = this.validity;
    if (validity === undefined) return;
    if (this.renewing) {
      // A plan made while a renewal runs (its new certificate) came due before it finished: look again later.
      this.timer = this.options.clock.setTimer(firstRetryMs, () => void this.due());
      return;
    }
    this.renewing = true;
    try {
      await this.options.renew();
      // renew() put the new certificate to use and called schedule() with its validity.
    } catch (err) {
      if (this.validity !== validity) return; // stopped or replaced meanwhile
      const left = validity.notAfterMs - this.options.wallNowMs();
      if (left <= 0) {
        if (!this.expiredReported) {
          this.options.log.error(`the node certificate expired at ${new Date(validity.notAfterMs).toISOString()} and could not be renewed (${errorMessage(err)}); this node must leave the swarm and join it again`);
          this.expiredReported = true;
        }
      } else {
        this.options.log.warn({ retryInMs: this.retryMs }, `certificate renewal failed: ${errorMessage(err)}`);
      }
      const delayMs = left > 0 ? Math.min(this.retryMs, left) : this.retryMs;
      this.retryMs = Math.min(this.retryMs * 2, maxRetryMs);
      this.timer = this.options.clock.setTimer(delayMs, () => void this.due());
    } finally {
      this.renewing = false;
    }
  }
}
