import t from 'tap';
import { ErrorCode } from '../../../lib/errors.js';
import { parseAuthChallenges, repositoryScope } from '../../../worker/images/auth-challenge.js';
import { isLabHost, isLoopbackHost, parseRegistryHost, registryBaseUrl, validateInsecureRegistries } from '../../../worker/images/registry-policy.js';

t.test('plain HTTP only for loopback and lab addresses', async (t) => {
  for (const h of ['127.0.0.1', '127.8.9.10', 'localhost', '::1']) t.ok(isLoopbackHost(h), h);
  for (const h of ['198.18.0.1', '198.19.255.254']) t.ok(isLabHost(h), h);
  for (const h of ['198.17.0.1', '198.20.0.1', '10.0.0.1', '128.0.0.1', 'example.com', '1270.0.0.1']) t.notOk(isLoopbackHost(h) || isLabHost(h), h);
  const ok = validateInsecureRegistries(['127.0.0.1:5000', '198.18.0.7:5000', 'LOCALHOST:1', '[::1]:5000']);
  t.equal(registryBaseUrl('127.0.0.1:5000', ok), 'http://127.0.0.1:5000');
  t.equal(registryBaseUrl('localhost:1', ok), 'http://localhost:1');
  t.equal(registryBaseUrl('127.0.0.1:6000', ok), 'https://127.0.0.1:6000', 'other ports still use TLS');
  t.throws(() => validateInsecureRegistries(['192.168.1.1:5000']), { code: ErrorCode.INVALID_ARGUMENT, message: /192\.168\.1\.1:5000 refused/ });
  t.throws(() => validateInsecureRegistries(['registry.local']), { code: ErrorCode.INVALID_ARGUMENT });
  t.throws(() => parseRegistryHost('127.0.0.1:99999'), { code: ErrorCode.INVALID_ARGUMENT });
  t.throws(() => parseRegistryHost('http://127.0.0.1'), { code: ErrorCode.INVALID_ARGUMENT });
});

t.test('WWW-Authenticate challenges parse into scheme and parameters', async (t) => {
  t.same(parseAuthChallenges('Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull"'), [
    { scheme: 'bearer', params: { realm: 'https://auth.example/token', service: 'registry.example', scope: 'repository:a/b:pull' } },
  ]);
  t.same(parseAuthChallenges('Basic realm="Registry Realm", Bearer realm="x"'), [
    { scheme: 'basic', params: { realm: 'Registry Realm' } },
    { scheme: 'bearer', params: { realm: 'x' } },
  ]);
  t.same(parseAuthChallenges('Bearer realm="a\\"b",error=invalid_token'), [{ scheme: 'bearer', params: { realm: 'a"b', error: 'invalid_token' } }]);
  t.same(parseAuthChallenges(''), []);
  t.equal(repositoryScope('team/app', ['pull', 'push']), 'repository:team/app:pull,push');
});
