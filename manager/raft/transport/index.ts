/** Raft messages between managers over gRPC streams. */
export { Transport, maxQueuedMessages, type SnapshotOutcome, type TransportHandler } from './transport.js';
export { encodeMessage, MessageDecoder, snapshotChunkBytes } from './message-codec.js';
