import t from 'tap';
import { assert, assertNever, AssertionError } from '../../lib/assert.js';
import { TsswarmError } from '../../lib/errors.js';

t.test('assert passes silently on truthy values', async (t) => {
  for (const v of [true, 1, 'x', {}, [], -1, 1n]) t.doesNotThrow(() => assert(v), `truthy ${String(v)}`);
});

t.test('assert throws AssertionError on every falsy value', async (t) => {
  for (const v of [false, 0, -0, '', null, undefined, Number.NaN, 0n]) {
    t.throws(() => assert(v), AssertionError, `falsy ${String(v)}`);
  }
});

t.test('the failure carries the given message, or a default one', async (t) => {
  t.throws(() => assert(false, 'replicas must be >= 0'), { name: 'AssertionError', message: 'replicas must be >= 0' });
  t.throws(() => assert(false), { message: 'assertion failed' });
});

t.test('an AssertionError is an Error with a useful stack, and is not a TsswarmError', async (t) => {
  let caught: unknown;
  try {
    assert(false, 'boom');
  } catch (err) {
    caught = err;
  }
  t.ok(caught instanceof AssertionError);
  t.ok(caught instanceof Error);
  t.notOk(caught instanceof TsswarmError, 'bugs and world errors never mix');
  t.match((caught as Error).stack, /^AssertionError: boom\n/);
});

t.test('assert narrows the type for the compiler', async (t) => {
  const maybe: string | undefined = ['abc'][0];
  assert(maybe !== undefined);
  // Compiles only because assert narrowed `maybe` to string.
  const length: number = maybe.length;
  t.equal(length, 3);
});

t.test('assertNever throws AssertionError naming the unexpected value', async (t) => {
  type Kind = 'a' | 'b';
  const describe = (k: Kind): string => {
    switch (k) {
      case 'a':
        return 'A';
      case 'b':
        return 'B';
      default:
        return assertNever(k, 'kind');
    }
  };
  t.equal(describe('a'), 'A');
  t.throws(() => describe('c' as Kind), { name: 'AssertionError', message: 'unexpected kind: "c"' });
  t.throws(() => assertNever({ state: 'x' } as never), { message: 'unexpected value: {"state":"x"}' });
  t.throws(() => assertNever(undefined as never), { message: 'unexpected value: undefined' });
});

t.test('assertNever still throws AssertionError for values JSON cannot encode', async (t) => {
  t.throws(() => assertNever(10n as never), { name: 'AssertionError', message: 'unexpected value: 10' });
  const cyclic: { self?: unknown } = {};
  cyclic.self = cyclic;
  t.throws(() => assertNever(cyclic as never), { name: 'AssertionError', message: /^unexpected value: / });
});
