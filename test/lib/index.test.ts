import t from 'tap';
import * as lib from '../../lib/index.js';
import * as assertModule from '../../lib/assert.js';
import * as errors from '../../lib/errors.js';
import * as clock from '../../lib/clock.js';
import * as rng from '../../lib/rng.js';
import * as ids from '../../lib/ids.js';
import * as log from '../../lib/log.js';
import * as boundedQueue from '../../lib/bounded-queue.js';
import * as runCommand from '../../lib/run-command.js';
import * as mounts from '../../lib/mounts.js';
import * as cgroups from '../../lib/cgroups.js';
import * as units from '../../lib/units.js';

t.test('the index re-exports every runtime export of each module, unchanged', async (t) => {
  const modules = { assertModule, errors, clock, rng, ids, log, boundedQueue, runCommand, mounts, cgroups, units };
  const barrel = lib as Record<string, unknown>;
  for (const [file, mod] of Object.entries(modules)) {
    for (const [name, value] of Object.entries(mod)) {
      t.equal(barrel[name], value, `${file}.${name}`);
    }
  }
  const all = new Set(Object.values(modules).flatMap((m) => Object.keys(m)));
  t.same(
    Object.keys(lib).filter((k) => !all.has(k)),
    [],
    'and nothing else',
  );
});
