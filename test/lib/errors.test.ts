import t from 'tap';
import { ErrorCode, TsswarmError, errorMessage, invalidArgument, isTsswarmError } from '../../lib/errors.js';

t.test('a TsswarmError carries code, message and name', async (t) => {
  const err = new TsswarmError(ErrorCode.NOT_FOUND, 'service web not found');
  t.ok(err instanceof Error);
  t.equal(err.code, 'ENOTFOUND');
  t.equal(err.message, 'service web not found');
  t.equal(err.name, 'TsswarmError');
  t.equal(String(err), 'TsswarmError: service web not found');
  t.match(err.stack, /^TsswarmError: service web not found\n/);
  t.equal(err.cause, undefined);
});

t.test('a TsswarmError keeps its cause', async (t) => {
  const cause = new Error('ECONNREFUSED 10.0.0.2:4242');
  const err = new TsswarmError(ErrorCode.EXTERNAL, 'cannot reach manager', { cause });
  t.equal(err.cause, cause);
  t.equal(new TsswarmError(ErrorCode.EXTERNAL, 'x', { cause: 'text' }).cause, 'text');
});

t.test('the code survives JSON, for scripts that match on it', async (t) => {
  const parsed = JSON.parse(JSON.stringify(new TsswarmError(ErrorCode.CONFLICT, 'stale'))) as { code?: string };
  t.equal(parsed.code, 'ECONFLICT');
});

t.test('error codes are stable strings', async (t) => {
  // A shipped code must never change: scripts match on these.
  t.same(ErrorCode, {
    INVALID_ARGUMENT: 'EINVAL',
    NOT_FOUND: 'ENOTFOUND',
    ALREADY_EXISTS: 'EEXIST',
    CONFLICT: 'ECONFLICT',
    UNSUPPORTED: 'EUNSUPPORTED',
    QUEUE_FULL: 'EQUEUEFULL',
    CLOSED: 'ECLOSED',
    EXTERNAL: 'EEXTERNAL',
    TIMEOUT: 'ETIMEDOUT',
    CORRUPT: 'ECORRUPT',
    NO_SUITABLE_NODE: 'ENOSUITABLENODE',
    PERMISSION: 'EPERM',
    COMMAND_NOT_FOUND: 'ECMDNOTFOUND',
    COMMAND_NOT_EXECUTABLE: 'ECMDNOEXEC',
    NO_QUORUM: 'ENOQUORUM',
    NOT_IN_SWARM: 'ENOTSWARM',
  });
  const values = Object.values(ErrorCode);
  t.equal(new Set(values).size, values.length, 'no two names share a code');
});

t.test('isTsswarmError recognises TsswarmErrors, optionally by code', async (t) => {
  const err = new TsswarmError(ErrorCode.TIMEOUT, 'too slow');
  t.ok(isTsswarmError(err));
  t.ok(isTsswarmError(err, ErrorCode.TIMEOUT));
  t.notOk(isTsswarmError(err, ErrorCode.CLOSED));
});

t.test('isTsswarmError rejects look-alikes and non-errors', async (t) => {
  const lookalike = Object.assign(new Error('x'), { code: 'ETIMEDOUT', name: 'TsswarmError' });
  t.notOk(isTsswarmError(lookalike));
  t.notOk(isTsswarmError(lookalike, ErrorCode.TIMEOUT));
  t.notOk(isTsswarmError({ code: 'ETIMEDOUT', message: 'x' }));
  for (const v of [undefined, null, 'ETIMEDOUT', 42]) t.notOk(isTsswarmError(v));
});

t.test('isTsswarmError narrows so code can be read', async (t) => {
  const thrown: unknown = new TsswarmError(ErrorCode.PERMISSION, 'not root');
  if (!isTsswarmError(thrown)) throw new Error('expected a TsswarmError');
  const code: ErrorCode = thrown.code;
  t.equal(code, 'EPERM');
});

t.test('invalidArgument builds an EINVAL error', async (t) => {
  const err = invalidArgument('--replicas must be a number');
  t.ok(err instanceof TsswarmError);
  t.equal(err.code, ErrorCode.INVALID_ARGUMENT);
  t.equal(err.message, '--replicas must be a number');
});

t.test('errorMessage gives one line for anything thrown', async (t) => {
  t.equal(errorMessage(new TsswarmError(ErrorCode.CORRUPT, 'bad crc')), 'bad crc');
  t.equal(errorMessage(new TypeError('nope')), 'nope');
  t.equal(errorMessage('plain string'), 'plain string');
  t.equal(errorMessage(42), '42');
  t.equal(errorMessage(undefined), 'undefined');
  t.equal(errorMessage(null), 'null');
});
