import t from 'tap';
import { ErrorCode } from '../../../lib/errors.js';
import { parseReference } from '../../../worker/images/reference.js';
import {
  danglingImages,
  emptyState,
  layerRefCounts,
  putImage,
  referencedBlobs,
  removeImage,
  removeTag,
  resolveImage,
  setTag,
  tagsOf,
  type ImageRecord,
} from '../../../worker/images/store-state.js';

const d = (c: string): string => `sha256:${c.repeat(64)}`;
const layer = (c: string): ImageRecord['layers'][number] => ({ digest: d(c), mediaType: 'x', size: 1, diffId: d(c === 'a' ? 'e' : 'f'), unpackedSize: 10 });
const image = (id: string, layers: string[]): ImageRecord => ({
  id: d(id),
  manifestDigest: d(id === '1' ? '7' : '8'),
  manifestMediaType: 'm',
  configDigest: d(id),
  layers: layers.map(layer),
  repoDigests: [],
  addedAt: '2026-01-01T00:00:00.000Z',
});

t.test('tags, short IDs and digests resolve to images', async (t) => {
  let s = putImage(putImage(emptyState(), image('1', ['a'])), image('2', ['a', 'b']));
  s = setTag(s, parseReference('busybox'), d('1'));
  s = setTag(s, parseReference('127.0.0.1:5000/app:v2'), d('2'));
  t.equal(resolveImage(s, 'busybox'), d('1'));
  t.equal(resolveImage(s, 'docker.io/library/busybox:latest'), d('1'));
  t.equal(resolveImage(s, '127.0.0.1:5000/app:v2'), d('2'));
  t.equal(resolveImage(s, '2222'), d('2'), 'short ID');
  t.equal(resolveImage(s, d('1')), d('1'), 'full ID with sha256:');
  t.equal(resolveImage(s, `busybox@${d('7')}`), d('1'), 'manifest digest');
  t.throws(() => resolveImage(s, 'nosuch'), { code: ErrorCode.NOT_FOUND, message: 'no such image: nosuch' });
  t.throws(() => resolveImage(s, 'Bad Name'), { code: ErrorCode.INVALID_ARGUMENT });
  t.same(tagsOf(s, d('1')), ['docker.io/library/busybox:latest']);
});

t.test('layer reference counts and referenced blobs follow the images', async (t) => {
  let s = putImage(putImage(emptyState(), image('1', ['a'])), image('2', ['a', 'b']));
  t.same([...layerRefCounts(s)].sort(), [[d('e'), 2], [d('f'), 1]]);
  s = removeImage(s, d('2'));
  t.same([...layerRefCounts(s)], [[d('e'), 1]]);
  t.same([...referencedBlobs(s)].sort(), [d('1'), d('7'), d('a')].sort());
  s = setTag(s, parseReference('x'), d('1'));
  t.same(danglingImages(s), []);
  s = removeTag(s, 'docker.io/library/x:latest');
  t.same(danglingImages(s), [d('1')]);
  t.throws(() => setTag(s, parseReference('y'), d('9')), { code: ErrorCode.NOT_FOUND });
});
