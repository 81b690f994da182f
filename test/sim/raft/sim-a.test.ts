import t from 'tap';
import { testSeedRange } from './seed-range.js';

// Seeds 0..499 of the default profile (the seeds are split over two files so tap runs them in parallel).
t.test('raft simulator, seeds 0..499', async (t) => {
  testSeedRange(t, 0, 500);
});
