import t from 'tap';
import { ErrorCode, isTsswarmError } from '../../../lib/errors.js';
import { parseImageConfig } from '../../../worker/images/image-config.js';
import { parseManifest, selectPlatform, type ImageIndex } from '../../../worker/images/manifest.js';
import { MediaType } from '../../../worker/images/media-types.js';

const d = (c: string): string => `sha256:${c.repeat(64)}`;
const desc = (mediaType: string, c: string, extra: object = {}): object => ({ mediaType, digest: d(c), size: 10, ...extra });

t.test('OCI and Docker schema-2 manifests parse into config and ordered layers', async (t) => {
  const oci = parseManifest(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociManifest, config: desc(MediaType.ociConfig, 'c'), layers: [desc(MediaType.ociLayerGzip, '1'), desc(MediaType.ociLayer, '2')] }));
  t.equal(oci.kind, 'manifest');
  if (oci.kind === 'manifest') t.same(oci.layers.map((l) => l.digest), [d('1'), d('2')]);
  // Docker's media type may come only from the Content-Type header.
  const docker = parseManifest(JSON.stringify({ schemaVersion: 2, config: desc(MediaType.dockerConfig, 'c'), layers: [desc(MediaType.dockerLayerGzip, '1')] }), `${MediaType.dockerManifest}; charset=utf-8`);
  t.equal(docker.mediaType, MediaType.dockerManifest);
});

t.test('manifest lists pick linux/amd64 and say what they offer otherwise', async (t) => {
  const list = parseManifest(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.dockerManifestList,
      manifests: [
        desc(MediaType.dockerManifest, '1', { platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } }),
        desc(MediaType.dockerManifest, '2', { platform: { os: 'linux', architecture: 'amd64' } }),
      ],
    }),
  ) as ImageIndex;
  t.equal(list.kind, 'index');
  t.equal(selectPlatform(list).digest, d('2'));
  const armOnly: ImageIndex = { ...list, manifests: list.manifests.slice(0, 1) };
  t.throws(() => selectPlatform(armOnly, undefined, 'x'), { code: ErrorCode.NOT_FOUND, message: /no linux\/amd64 .*linux\/arm64\/v8/ });
});

t.test('malformed manifests are CORRUPT, schema 1 and foreign configs UNSUPPORTED', async (t) => {
  const bad: [string, string][] = [
    ['not json', ErrorCode.CORRUPT],
    ['[]', ErrorCode.CORRUPT],
    [JSON.stringify({ schemaVersion: 3 }), ErrorCode.CORRUPT],
    [JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociManifest, config: { mediaType: MediaType.ociConfig, digest: 'sha256:xyz', size: 1 }, layers: [] }), ErrorCode.CORRUPT],
    [JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociManifest, config: desc(MediaType.ociConfig, 'c'), layers: [{ ...desc(MediaType.ociLayer, '1'), size: -1 }] }), ErrorCode.CORRUPT],
    [JSON.stringify({ schemaVersion: 1, name: 'x' }), ErrorCode.UNSUPPORTED],
    [JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociManifest, config: desc('application/vnd.cncf.helm.config.v1+json', 'c'), layers: [] }), ErrorCode.UNSUPPORTED],
  ];
  for (const [text, code] of bad) t.ok(isTsswarmError(catchErr(() => parseManifest(text)), code as ErrorCode), `${text.slice(0, 60)} → ${code}`);
});

t.test('image configs give the executor what it needs', async (t) => {
  const config = parseImageConfig(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      created: '2024-01-01T00:00:00Z',
      config: {
        Entrypoint: ['/bin/sh', '-c'],
        Cmd: ['httpd -f'],
        Env: ['PATH=/bin', 'A=b'],
        WorkingDir: '/srv',
        User: '65534:65534',
        ExposedPorts: { '80/tcp': {}, '53/udp': {} },
        Healthcheck: { Test: ['CMD-SHELL', 'wget -q -O- localhost'], Interval: 5e9, Retries: 3 },
        StopSignal: 'SIGQUIT',
        Labels: { a: 'b' },
      },
      rootfs: { type: 'layers', diff_ids: [d('1')] },
    }),
  );
  t.same(config.runtime.entrypoint, ['/bin/sh', '-c']);
  t.same(config.runtime.exposedPorts, ['53/udp', '80/tcp']);
  t.same(config.runtime.healthcheck, { test: ['CMD-SHELL', 'wget -q -O- localhost'], intervalNs: 5e9, retries: 3 });
  t.equal(config.runtime.stopSignal, 'SIGQUIT');
  t.equal(config.runtime.user, '65534:65534');
  t.same(config.diffIds, [d('1')]);
  t.throws(() => parseImageConfig(JSON.stringify({ rootfs: { type: 'layers', diff_ids: ['nope'] } })), { code: ErrorCode.CORRUPT });
  t.throws(() => parseImageConfig(JSON.stringify({ config: { Cmd: 'sh' }, rootfs: { type: 'layers', diff_ids: [] } })), { code: ErrorCode.CORRUPT, message: /Cmd/ });
});

function catchErr(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}
