/**
 * The hand-written half of the generated schema module (proto/gen/tsswarm.ts): it turns the
 * embedded protobufjs descriptor into codecs that encode plain TypeScript objects to protobuf
 * bytes and decode bytes back into plain objects, and into gRPC method definitions.
 *
 * Decoded objects are plain data: every scalar, repeated and map field is present (proto3
 * defaults filled in), a message field or oneof member is present only when it was set,
 * 64-bit integers are `number`s, enums are their numeric values, bytes are `Uint8Array`s.
 *
 * Encoding is canonical: fields at their proto3 default are left out and map entries are written
 * in sorted key order, so equal messages encode to equal bytes however they were built.
 */
import protobuf from 'protobufjs/light.js';
import type { MethodDefinition } from '@grpc/grpc-js';
import { ErrorCode, TsswarmError } from '../lib/errors.js';

/** A value of T where every field, at any depth, may be left out (proto3 defaults fill it in). */
export type DeepPartial<T> = T extends Uint8Array
  ? T
  : T extends readonly (infer U)[]
    ? DeepPartial<U>[]
    : T extends object
      ? { [K in keyof T]?: DeepPartial<T[K]> }
      : T;

/** Encodes, decodes and creates one message type. */
export interface MessageCodec<T> {
  /** The fully qualified protobuf name, e.g. "tsswarm.Node". */
  readonly typeName: string;
  /** The protobufjs reflection of the message type. */
  readonly type: protobuf.Type;
  /** The canonical protobuf encoding of `message`, as a plain Uint8Array. */
  encode(message: T): Uint8Array;
  /**
   * The message encoded in `bytes`. Throws a TsswarmError with code CORRUPT when the bytes are
   * not a valid encoding or carry a 64-bit integer beyond Number.MAX_SAFE_INTEGER.
   */
  decode(bytes: Uint8Array): T;
  /** A complete message: `init` with proto3 defaults for every field it leaves out. */
  create(init?: DeepPartial<T>): T;
}

/** The gRPC method definition of one rpc, with serializers from the message codecs. */
export type GrpcMethod<Req, Res> = MethodDefinition<Req, Res>;

/** Builds the protobufjs reflection root from a JSON descriptor emitted by deploy/proto-gen.mjs. */
export function loadSchema(descriptor: Readonly<Record<string, unknown>>): protobuf.Root {
  // The descriptor is protobufjs's own toJSON output; its INamespace typing is stricter than that
  // output (IMethod.comment is required, map fields are missing), so the literal is not typed as one.
  const root = protobuf.Root.fromJSON(descriptor as protobuf.INamespace);
  root.resolveAll();
  return root;
}

/** The codec of the message type `name` (fully qualified) in `root`. */
export function messageCodec<T>(root: protobuf.Root, name: string): MessageCodec<T> {
  const type = root.lookupType(name);
  let toPlain: PlainConverter | undefined;
  let toWire: WireConverter | undefined;
  const plain = (message: protobuf.Message): T => {
    toPlain ??= plainConverter(type);
    // The converter walks the same reflection the interface T was generated from.
    return toPlain(message) as T;
  };
  return {
    typeName: name,
    type,
    encode(message: T): Uint8Array {
      toWire ??= wireConverter(type);
      const bytes = type.encode(toWire(message as Record<string, unknown>)).finish();
      // protobufjs hands back a Buffer under Node; callers get a plain Uint8Array (a view, no copy).
      return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    },
    decode(bytes: Uint8Array): T {
      let message: protobuf.Message;
      try {
        message = type.decode(bytes);
      } catch (err) {
        throw new TsswarmError(ErrorCode.CORRUPT, `cannot decode ${name}: ${describeError(err)}`, { cause: err });
      }
      return plain(message);
    },
    create(init?: DeepPartial<T>): T {
      return plain(type.fromObject((init ?? {}) as { [k: string]: unknown }));
    },
  };
}

/** The gRPC definition of rpc `method` of service `service` (fully qualified). */
export function grpcMethod<Req, Res>(
  service: string,
  method: string,
  request: MessageCodec<Req>,
  response: MessageCodec<Res>,
  requestStream: boolean,
  responseStream: boolean,
): GrpcMethod<Req, Res> {
  return {
    path: `/${service}/${method}`,
    requestStream,
    responseStream,
    requestSerialize: (value: Req) => asBuffer(request.encode(value)),
    requestDeserialize: (bytes: Buffer) => request.decode(bytes),
    responseSerialize: (value: Res) => asBuffer(response.encode(value)),
    responseDeserialize: (bytes: Buffer) => response.decode(bytes),
    originalName: method,
  };
}

/** The name of `value` in the enum object `values` (e.g. "RUNNING" for TaskState.RUNNING), if any. */
export function enumKey<E extends Readonly<Record<string, number>>>(values: E, value: number): (keyof E & string) | undefined {
  for (const key of Object.keys(values)) {
    if (values[key] === value) return key;
  }
  return undefined;
}

type PlainConverter = (message: protobuf.Message) => Record<string, unknown>;
type WireConverter = (message: Record<string, unknown>) => Record<string, unknown>;

/**
 * Builds, once per type, the function that copies a plain message without the fields that
 * proto3 leaves off the wire (scalars at their default), recursively, with map keys sorted.
 * Oneof members are kept whenever set: their presence is part of the message.
 */
function wireConverter(type: protobuf.Type): WireConverter {
  const fields = type.fieldsArray.map((field) => {
    const resolved = field.resolvedType;
    let nested: WireConverter | undefined;
    const message =
      resolved instanceof protobuf.Type
        ? (value: unknown): unknown => {
            nested ??= wireConverter(resolved);
            return nested(value as Record<string, unknown>);
          }
        : undefined;
    return { name: field.name, field, message };
  });
  return (source) => {
    const out: Record<string, unknown> = {};
    for (const { name, field, message } of fields) {
      const value = source[name];
      if (value === null || value === undefined) continue;
      if (field.map) {
        const keys = Object.keys(value as Record<string, unknown>).sort();
        if (keys.length === 0) continue;
        const map: Record<string, unknown> = {};
        for (const k of keys) {
          const v = (value as Record<string, unknown>)[k];
          map[k] = message ? message(v) : v;
        }
        out[name] = map;
      } else if (field.repeated) {
        const list = value as unknown[];
        if (list.length === 0) continue;
        out[name] = message ? list.map(message) : list;
      } else if (message) {
        out[name] = message(value);
      } else if (field.partOf !== null || !isDefaultScalar(value)) {
        out[name] = value;
      }
    }
    return out;
  };
}

/** True for the proto3 default of any scalar: 0 (not -0), '', false, empty bytes. */
function isDefaultScalar(value: unknown): boolean {
  if (typeof value === 'number') return value === 0 && !Object.is(value, -0);
  if (typeof value === 'string') return value === '';
  if (typeof value === 'boolean') return !value;
  if (value instanceof Uint8Array) return value.byteLength === 0;
  return false;
}
type ValueConverter = (value: unknown) => unknown;

/** Builds, once per type, the function that turns a decoded protobufjs message into plain data. */
function plainConverter(type: protobuf.Type): PlainConverter {
  const fields = type.fieldsArray.map((field) => {
    const convert = valueConverter(type, field);
    const isMessage = field.resolvedType instanceof protobuf.Type;
    return { name: field.name, field, convert, isMessage };
  });
  return (message) => {
    const source = message as unknown as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const { name, field, convert, isMessage } of fields) {
      const value = source[name];
      if (field.map) {
        const map: Record<string, unknown> = {};
        for (const [k, v] of Object.entries((value ?? {}) as Record<string, unknown>)) map[k] = convert(v);
        out[name] = map;
      } else if (field.repeated) {
        out[name] = ((value ?? []) as unknown[]).map(convert);
      } else if (field.partOf !== null || isMessage) {
        // Present only when set: a oneof member or a message field is never defaulted.
        if (value !== null && value !== undefined && Object.prototype.hasOwnProperty.call(source, name)) {
          out[name] = convert(value);
        }
      } else {
        out[name] = convert(value);
      }
    }
    return out;
  };
}

/** The converter of one field's values (the elements of a repeated field, the values of a map). */
function valueConverter(type: protobuf.Type, field: protobuf.Field): ValueConverter {
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Type) {
    let nested: PlainConverter | undefined;
    return (value) => {
      nested ??= plainConverter(resolved);
      return nested(value as protobuf.Message);
    };
  }
  if (resolved instanceof protobuf.Enum) return (value) => (typeof value === 'number' ? value : 0);
  switch (field.type) {
    case 'int64':
    case 'sint64':
    case 'sfixed64':
      return (value) => safeNumber(type, field, value, false);
    case 'uint64':
    case 'fixed64':
      return (value) => safeNumber(type, field, value, true);
    case 'bytes':
      return (value) => {
        if (!(value instanceof Uint8Array)) return new Uint8Array(0);
        return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
      };
    case 'bool':
      return (value) => value === true;
    case 'string':
      return (value) => (typeof value === 'string' ? value : '');
    default:
      // 32-bit integers, float and double.
      return (value) => (typeof value === 'number' ? value : 0);
  }
}

/** A 64-bit integer as a number; beyond 2^53 the decoded value cannot be represented exactly. */
function safeNumber(type: protobuf.Type, field: protobuf.Field, value: unknown, unsigned: boolean): number {
  if (value === null || value === undefined) return 0;
  if (typeof value === 'number') return value;
  const n = protobuf.util.LongBits.from(value as protobuf.Long).toNumber(unsigned);
  if (!Number.isSafeInteger(n)) {
    throw new TsswarmError(ErrorCode.CORRUPT, `cannot decode ${type.fullName.slice(1)}.${field.name}: ${String(n)} is beyond 2^53`);
  }
  return n;
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function describeError(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
