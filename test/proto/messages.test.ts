import t from 'tap';
import protobuf from 'protobufjs/light.js';
import * as p from '../../proto/index.js';
import { fixtures } from './fixtures.js';

/** Every message type of the package, from the generated reflection (not from a hand-kept list). */
function messageTypes(): protobuf.Type[] {
  const ns = p.schema.lookup('tsswarm');
  if (!(ns instanceof protobuf.Namespace)) throw new Error('no package tsswarm in the schema');
  return ns.nestedArray.filter((item): item is protobuf.Type => item instanceof protobuf.Type);
}

/** True when `value` is what proto3 leaves off the wire for this field. */
function isUnset(field: protobuf.Field, value: unknown): boolean {
  if (value === undefined || value === null) return true;
  if (field.map) return Object.keys(value as object).length === 0;
  if (field.repeated) return (value as unknown[]).length === 0;
  if (field.partOf !== null || field.resolvedType instanceof protobuf.Type) return false;
  if (value instanceof Uint8Array) return value.byteLength === 0;
  return value === 0 || value === '' || value === false;
}

const types = messageTypes();

t.test('the schema has the messages the rest of tsswarm builds on', async (t) => {
  const names = new Set(types.map((type) => type.name));
  for (const name of ['Node', 'Service', 'Task', 'Network', 'Secret', 'Config', 'Cluster', 'RaftMessage', 'StoreSnapshot']) {
    t.ok(names.has(name), name);
  }
  t.ok(types.length >= 150, `${types.length} message types`);
});

t.test('every message type has fixtures, and every fixture names a message type', async (t) => {
  const names = new Set(types.map((type) => `tsswarm.${type.name}`));
  const missing = [...names].filter((name) => !fixtures.has(name));
  t.strictSame(missing, [], 'message types without fixtures (add them to test/proto/fixtures.ts)');
  const stray = [...fixtures.keys()].filter((name) => !names.has(name));
  t.strictSame(stray, [], 'fixtures for unknown types');
});

t.test('each type exports a codec of the same name', async (t) => {
  const exported = p as unknown as Record<string, unknown>;
  for (const type of types) {
    const codec = exported[type.name] as p.MessageCodec<unknown> | undefined;
    t.equal(codec?.typeName, `tsswarm.${type.name}`, type.name);
    t.equal(codec?.type, type, `${type.name} codec uses the schema's reflection`);
  }
});

t.test('the fixtures of each type set every one of its fields', async (t) => {
  for (const type of types) {
    const fixture = fixtures.get(`tsswarm.${type.name}`);
    if (fixture === undefined) continue; // reported above
    const values = fixture.values as readonly Record<string, unknown>[];
    const unset = type.fieldsArray
      .filter((field) => values.every((value) => isUnset(field, value[field.name])))
      .map((field) => field.name);
    t.strictSame(unset, [], `${type.name}: fields no fixture sets`);
  }
});

t.test('every fixture survives encode then decode unchanged', async (t) => {
  for (const [name, { codec, values }] of fixtures) {
    values.forEach((value, i) => {
      const bytes = codec.encode(value);
      t.ok(bytes.byteLength > 0 || Object.keys(value as object).length === 0, `${name}[${i}] encodes to bytes`);
      t.strictSame(codec.decode(bytes), value, `${name}[${i}] round-trips`);
    });
  }
});

t.test('encoding is canonical: re-encoding a decoded message gives the same bytes', async (t) => {
  for (const [name, { codec, values }] of fixtures) {
    values.forEach((value, i) => {
      const bytes = codec.encode(value);
      t.same(Buffer.from(codec.encode(codec.decode(bytes))), Buffer.from(bytes), `${name}[${i}]`);
    });
  }
});

t.test('create() fills in the defaults and keeps what it is given', async (t) => {
  for (const [name, { codec, values }] of fixtures) {
    const empty = codec.create();
    t.equal(codec.encode(empty).byteLength, 0, `${name}: a default message encodes to no bytes`);
    t.strictSame(codec.decode(new Uint8Array(0)), empty, `${name}: no bytes decode to the default message`);
    values.forEach((value, i) => t.strictSame(codec.create(value as object), value, `${name}[${i}]`));
  }
});

t.test('a field left out and a field at its default encode alike', async (t) => {
  const sparse = p.Node.encode(p.Node.create({ id: 'n1' }));
  const full = p.Node.encode({ ...p.Node.create(), id: 'n1', role: p.NodeRole.WORKER });
  t.same(Buffer.from(full), Buffer.from(sparse));
  t.equal(sparse.byteLength, 4, 'just the id: tag, length, two bytes');
});

t.test('map entries are written in key order, whatever order they were set in', async (t) => {
  const a = p.Annotations.encode({ name: 'x', labels: { b: '2', a: '1', c: '3' } });
  const b = p.Annotations.encode({ name: 'x', labels: { c: '3', a: '1', b: '2' } });
  t.same(Buffer.from(a), Buffer.from(b));
});

t.test('a oneof member at its default is still present after a round trip', async (t) => {
  const spec = p.ServiceSpec.decode(p.ServiceSpec.encode({ replicated: { replicas: 0 } }));
  t.strictSame(spec.replicated, { replicas: 0 }, 'replicated with 0 replicas is not "no mode"');
  t.notOk('global' in spec, 'the other members stay absent');
  const action = p.StoreAction.decode(p.StoreAction.encode({ kind: p.StoreActionKind.REMOVE, config: p.Config.create() }));
  t.ok(action.config, 'an empty object in a oneof is kept');
});

t.test('task states are ordered, so "only move forward" is a comparison', async (t) => {
  const order = [
    'NEW', 'PENDING', 'ASSIGNED', 'ACCEPTED', 'PREPARING', 'READY', 'STARTING', 'RUNNING',
    'COMPLETE', 'SHUTDOWN', 'FAILED', 'REJECTED', 'REMOVE', 'ORPHANED',
  ] as const;
  t.strictSame(Object.keys(p.TaskState), [...order]);
  for (let i = 1; i < order.length; i++) {
    const before = order[i - 1];
    const after = order[i];
    if (before === undefined || after === undefined) throw new Error('unreachable');
    t.ok(p.TaskState[before] < p.TaskState[after], `${before} < ${after}`);
  }
});

t.test('the enum objects hold the schema values without the enum-name prefix', async (t) => {
  const ns = p.schema.lookup('tsswarm') as protobuf.Namespace;
  const enums = ns.nestedArray.filter((item): item is protobuf.Enum => item instanceof protobuf.Enum);
  t.ok(enums.length >= 20, `${enums.length} enums`);
  const exported = p as unknown as Record<string, Record<string, number>>;
  for (const en of enums) {
    const prefix = `${en.name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2').toUpperCase()}_`;
    const expected = Object.fromEntries(Object.entries(en.values).map(([k, v]) => [k.slice(prefix.length), v]));
    t.strictSame(exported[en.name], expected, en.name);
  }
  t.equal(p.enumKey(p.TaskState, p.TaskState.RUNNING), 'RUNNING');
  t.equal(p.enumKey(p.NodeAvailability, 2), 'DRAIN');
  t.equal(p.enumKey(p.TaskState, 1), undefined, 'a value from a newer peer has no name');
});
