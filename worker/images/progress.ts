/**
 * Progress of image transfers, reported as events so that a CLI can draw bars and a daemon can
 * stream them to its client.
 */

/** What is happening to one blob. */
export type TransferPhase = 'waiting' | 'exists' | 'downloading' | 'uploading' | 'extracting' | 'done';

/** One progress report about one blob. */
export interface ProgressEvent {
  /** The blob's digest. */
  readonly digest: string;
  readonly phase: TransferPhase;
  /** Bytes moved so far in this phase. */
  readonly current: number;
  /** Bytes expected in all (0 when unknown). */
  readonly total: number;
}

/** Receives progress events; must not throw. */
export type ProgressListener = (event: ProgressEvent) => void;

/** A listener that ignores everything. */
export const ignoreProgress: ProgressListener = () => undefined;
