import t from 'tap';
import { testSeedRange } from './seed-range.js';

// Seeds 500..999 of the default profile (the seeds are split over two files so tap runs them in parallel).
t.test('raft simulator, seeds 500..999', async (t) => {
  testSeedRange(t, 500, 500);
});
