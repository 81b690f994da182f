import t from 'tap';
import { ErrorCode } from '../../../lib/errors.js';
import {
  formatJoinToken,
  joinTokensEqual,
  newJoinToken,
  parseJoinToken,
  verifyRootForToken,
} from '../../../manager/ca/join-token.js';
import { createRootCa } from '../../../manager/ca/root-ca.js';

const digest = 'ab'.repeat(32);

t.test('a new token has Docker\'s shape: SWMTKN-1-<50 base36>-<25 base36>', async (t) => {
  const token = newJoinToken(digest);
  t.match(token, /^SWMTKN-1-[0-9a-z]{50}-[0-9a-z]{25}$/);
  t.not(newJoinToken(digest), token, 'each token has a fresh secret');
});

t.test('parse gives back the digest and secret that format wrote', async (t) => {
  const token = newJoinToken(digest);
  const parsed = parseJoinToken(token);
  t.equal(parsed.caDigestHex, digest);
  t.equal(formatJoinToken(parsed), token);
  t.same(parseJoinToken(`  ${token}\n`), parsed, 'surrounding white space (from copy and paste) is ignored');
});

t.test('extreme values survive the base36 round trip', async (t) => {
  for (const hex of ['0'.repeat(64), 'f'.repeat(64), '00'.repeat(31) + '01']) {
    const token = newJoinToken(hex, () => new Uint8Array(16).fill(0xff));
    t.equal(parseJoinToken(token).caDigestHex, hex);
    t.equal(parseJoinToken(token).secret, (2n ** 128n - 1n).toString(36).padStart(25, '0'));
  }
});

t.test('malformed tokens are refused with a message naming the bad part, never quoting the token', async (t) => {
  const good = newJoinToken(digest);
  const [, , d = '', s = ''] = good.split('-');
  const cases: [string, RegExp][] = [
    ['', /must start with "SWMTKN-"/],
    ['SWMTKX-1-' + d + '-' + s, /must start with "SWMTKN-"/],
    ['swmtkn-1-' + d + '-' + s, /must start with "SWMTKN-"/],
    ['SWMTKN-1-' + d, /must have 4 dash-separated fields/],
    ['SWMTKN-1-' + d + '-' + s + '-x', /must have 4 dash-separated fields/],
    ['SWMTKN-2-' + d + '-' + s, /version "2" is not supported/],
    ['SWMTKN-1-' + d.slice(1) + '-' + s, /CA digest field must be 50 characters/],
    ['SWMTKN-1-' + d.toUpperCase() + '-' + s, /CA digest field must be 50 characters of 0-9 and a-z/],
    ['SWMTKN-1-' + 'z'.repeat(50) + '-' + s, /out of range for SHA-256/],
    ['SWMTKN-1-' + d + '-' + s.slice(1), /secret field must be 25 characters/],
    ['SWMTKN-1-' + d + '-' + s.slice(1) + '_', /secret field must be 25 characters/],
  ];
  for (const [token, message] of cases) {
    let caught: unknown;
    try {
      parseJoinToken(token);
    } catch (err) {
      caught = err;
    }
    t.match(caught, { code: ErrorCode.INVALID_ARGUMENT, message }, JSON.stringify(token));
    t.notOk(s !== '' && (caught as Error).message.includes(s), 'the secret is not echoed');
  }
});

t.test('the token pins the root CA: its own root passes, any other is refused', async (t) => {
  const root = await createRootCa();
  const other = await createRootCa();
  const token = newJoinToken(root.digestHex);
  t.doesNotThrow(() => verifyRootForToken(token, root.certPem));
  t.doesNotThrow(() => verifyRootForToken(token, new TextEncoder().encode(root.certPem)), 'bytes as on the wire');
  t.throws(() => verifyRootForToken(token, other.certPem), {
    code: ErrorCode.PERMISSION,
    message: /root CA \(sha256:[0-9a-f]{64}\) is not the one the join token pins .*refusing to join/,
  });
  t.throws(() => verifyRootForToken(token, 'garbage'), { code: ErrorCode.CORRUPT });
  t.throws(() => verifyRootForToken('SWMTKN-1-x-y', root.certPem), { code: ErrorCode.INVALID_ARGUMENT });
});

t.test('joinTokensEqual compares exactly, whatever the lengths', async (t) => {
  const a = newJoinToken(digest);
  t.ok(joinTokensEqual(a, a));
  t.notOk(joinTokensEqual(a, a.slice(0, -1) + (a.endsWith('0') ? '1' : '0')));
  t.notOk(joinTokensEqual(a, a + 'x'));
  t.notOk(joinTokensEqual(a, ''));
});

t.test('format refuses a bad digest or secret', async (t) => {
  t.throws(() => formatJoinToken({ caDigestHex: 'AB'.repeat(32), secret: '0'.repeat(25) }), { code: ErrorCode.INVALID_ARGUMENT });
  t.throws(() => formatJoinToken({ caDigestHex: digest, secret: '0'.repeat(24) }), { code: ErrorCode.INVALID_ARGUMENT });
  t.throws(() => newJoinToken(digest, () => new Uint8Array(8)), { code: ErrorCode.INVALID_ARGUMENT });
});
