import t from 'tap';
import { resolveNode } from '../../../manager/controlapi/resolve-node.js';
import { node } from './helpers.js';

const a = node('4f2a9c0e1b7d3a6c8e5f0a1b2', { hostname: 'alpha' });
const b = node('4f2a9c77777777777777777ab', { hostname: 'beta' });
const c = node('9c1d2e3f4a5b6c7d8e9f0a1b2', { hostname: '4f2a' });
const nodes = [a, b, c];

t.test('an exact ID wins', async (t) => {
  t.equal(resolveNode(nodes, a.id).id, a.id);
  t.equal(resolveNode(nodes, c.id).id, c.id);
});

t.test('then an exact hostname, even over an ID prefix', async (t) => {
  t.equal(resolveNode(nodes, 'beta').id, b.id);
  t.equal(resolveNode(nodes, '4f2a').id, c.id, '"4f2a" is c\'s hostname and a prefix of a and b');
});

t.test('then a unique ID prefix', async (t) => {
  t.equal(resolveNode(nodes, '4f2a9c0').id, a.id);
  t.equal(resolveNode(nodes, '9c').id, c.id);
});

t.test('an ambiguous prefix names every candidate', async (t) => {
  t.throws(() => resolveNode(nodes, '4f2a9c'), {
    code: 'EINVAL',
    message: `node 4f2a9c is ambiguous: it is the ID prefix of 2 nodes: ${a.id} (alpha), ${b.id} (beta); use a longer ID`,
  });
});

t.test('a hostname shared by two nodes is ambiguous', async (t) => {
  const twin = node('zzzzzzzzzzzzzzzzzzzzzzzzz', { hostname: 'alpha' });
  t.throws(() => resolveNode([...nodes, twin], 'alpha'), { code: 'EINVAL', message: new RegExp(`hostname of 2 nodes: ${a.id} \\(alpha\\), ${twin.id} \\(alpha\\)`) });
  t.equal(resolveNode([...nodes, twin], twin.id).id, twin.id, 'the ID still resolves');
});

t.test('unknown and empty references', async (t) => {
  t.throws(() => resolveNode(nodes, 'gamma'), { code: 'ENOTFOUND', message: 'node gamma not found' });
  t.throws(() => resolveNode([], 'x'), { code: 'ENOTFOUND', message: 'node x not found' });
  t.throws(() => resolveNode(nodes, ''), { code: 'EINVAL' });
});

t.test('a long list of candidates is cut short', async (t) => {
  const many = Array.from({ length: 14 }, (_, i) => node(`ab${String(i).padStart(23, '0')}`));
  t.throws(() => resolveNode(many, 'ab'), { code: 'EINVAL', message: /ID prefix of 14 nodes: .*, and 4 more; use a longer ID$/ });
});
