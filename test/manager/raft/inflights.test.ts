import t from 'tap';
import { AssertionError } from '../../../lib/assert.js';
import { Inflights } from '../../../manager/raft/inflights.js';

t.test('fills up to maxInflightMessages and frees by acknowledged index', async (t) => {
  const inf = new Inflights(3);
  inf.add(10);
  inf.add(12);
  t.notOk(inf.full());
  inf.add(15);
  t.ok(inf.full());
  t.throws(() => inf.add(16), AssertionError, 'adding to a full window is a bug');
  inf.freeLE(12);
  t.equal(inf.count(), 1, 'an ack for 12 frees the messages ending at 10 and 12');
  inf.freeLE(11);
  t.equal(inf.count(), 1, 'a stale ack frees nothing');
  inf.freeLE(100);
  t.equal(inf.count(), 0);
});

t.test('wraps around the ring buffer', async (t) => {
  const inf = new Inflights(2);
  for (let i = 1; i <= 20; i++) {
    inf.add(i);
    if (inf.full()) inf.freeLE(i - 1);
    t.equal(inf.count(), i === 1 ? 1 : 1 + (inf.full() ? 1 : 0));
  }
  t.equal(inf.count(), 1);
});

t.test('freeFirstOne lets one message through a full window', async (t) => {
  const inf = new Inflights(2);
  inf.add(5);
  inf.add(7);
  inf.freeFirstOne();
  t.equal(inf.count(), 1);
  t.notOk(inf.full());
  inf.add(9);
  inf.freeLE(7);
  t.equal(inf.count(), 1, 'only 9 remains');
});

t.test('indexes must increase', async (t) => {
  const inf = new Inflights(4);
  inf.add(5);
  t.throws(() => inf.add(5), AssertionError);
  inf.reset();
  t.equal(inf.count(), 0);
  inf.add(1);
  t.equal(inf.count(), 1, 'after reset, any index may start again');
});
