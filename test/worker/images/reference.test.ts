import t from 'tap';
import { ErrorCode, isTsswarmError } from '../../../lib/errors.js';
import { familiarReference, formatReference, parseReference } from '../../../worker/images/reference.js';

const digest = `sha256:${'a'.repeat(64)}`;

t.test('short names normalise to docker.io/library with the latest tag', async (t) => {
  t.equal(formatReference(parseReference('busybox')), 'docker.io/library/busybox:latest');
  t.equal(formatReference(parseReference('team/app:1.2')), 'docker.io/team/app:1.2');
  t.equal(formatReference(parseReference('index.docker.io/library/busybox')), 'docker.io/library/busybox:latest');
  t.equal(familiarReference(parseReference('docker.io/library/busybox:latest')), 'busybox:latest');
});

t.test('registry hosts with ports, localhost and IPv6 are domains', async (t) => {
  t.same(parseReference('127.0.0.1:5000/busybox:v1'), { domain: '127.0.0.1:5000', path: 'busybox', tag: 'v1' });
  t.same(parseReference('localhost/app'), { domain: 'localhost', path: 'app', tag: 'latest' });
  t.same(parseReference('[::1]:5000/a/b'), { domain: '[::1]:5000', path: 'a/b', tag: 'latest' });
  t.equal(familiarReference(parseReference('127.0.0.1:5000/busybox')), '127.0.0.1:5000/busybox:latest');
});

t.test('digests: alone, or with a tag; no default tag then', async (t) => {
  t.same(parseReference(`busybox@${digest}`), { domain: 'docker.io', path: 'library/busybox', digest });
  t.same(parseReference(`127.0.0.1:5000/x:1@${digest}`), { domain: '127.0.0.1:5000', path: 'x', tag: '1', digest });
  t.equal(formatReference(parseReference(`busybox@${digest}`)), `docker.io/library/busybox@${digest}`);
});

t.test('malformed references are INVALID_ARGUMENT errors that say why', async (t) => {
  const cases: [string, RegExp][] = [
    ['', /empty/],
    ['Busybox', /lowercase/],
    ['busy box', /white space/],
    ['busybox:', /tag/],
    ['busybox:-x', /tag/],
    ['busybox@sha256:abc', /digest/],
    ['busybox@md5:' + 'a'.repeat(32), /digest/],
    ['a//b', /path component/],
    ['a/-b', /path component/],
    ['UPPER.io:x/y', /registry host/],
    [':tag', /empty/],
    ['a'.repeat(64), /image ID/],
    [`x/${'a'.repeat(260)}`, /longer than 255/],
  ];
  for (const [text, why] of cases) {
    try {
      parseReference(text);
      t.fail(`accepted ${JSON.stringify(text)}`);
    } catch (err) {
      t.ok(isTsswarmError(err, ErrorCode.INVALID_ARGUMENT), `${JSON.stringify(text)} is INVALID_ARGUMENT`);
      t.match((err as Error).message, why, `${JSON.stringify(text)} says why`);
      t.notMatch((err as Error).message, /\n/, 'one line');
    }
  }
});
