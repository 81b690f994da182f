import t from 'tap';
import { millisOf, timestampFromMs } from '../../proto/time.js';

t.test('milliseconds to Timestamp and back', async (t) => {
  t.same(timestampFromMs(1_700_000_000_123), { seconds: 1_700_000_000, nanos: 123_000_000 });
  t.same(timestampFromMs(0), { seconds: 0, nanos: 0 });
  t.same(timestampFromMs(-1), { seconds: -1, nanos: 999_000_000 }, 'nanos stay in [0, 1e9) before the epoch');
  t.equal(millisOf(timestampFromMs(1_234_567)), 1_234_567);
  t.equal(millisOf({ seconds: 2, nanos: 500_999_999 }), 2_500);
  t.equal(millisOf(undefined), 0);
});
