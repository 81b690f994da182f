/**
 * Wire and storage schemas: the TypeScript face of proto/*.proto. Every message is an interface
 * plus a codec of the same name (`Node.encode(node)`, `Node.decode(bytes)`, `Node.create({...})`),
 * every enum an `as const` object plus a union type (`TaskState.RUNNING`), every service a gRPC
 * definition (`ControlService`) plus a server handler type (`ControlServer`).
 */
export * from './gen/tsswarm.js';
export { type MessageCodec, type DeepPartial, type GrpcMethod, enumKey } from './runtime.js';
export { timestampFromMs, millisOf } from './time.js';
