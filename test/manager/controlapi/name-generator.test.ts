import t from 'tap';
import { seededRng } from '../../../lib/rng.js';
import { freeRandomName, maxGeneratedNameAttempts, randomName } from '../../../manager/controlapi/name-generator.js';
import { objectNamePattern } from '../../../manager/controlapi/spec-checks.js';

t.test('generated names are docker-style, valid service names, and replayable', async (t) => {
  const a = seededRng(3);
  const b = seededRng(3);
  for (let i = 0; i < 200; i++) {
    const name = randomName(a);
    t.equal(name, randomName(b));
    if (!/^[a-z]+_[a-z]+$/.test(name) || !objectNamePattern.test(name)) t.fail(`bad name ${name}`);
  }
  t.match(randomName(seededRng(1), 1), /^[a-z]+_[a-z]+\d$/, 'a retry appends a digit');
});

t.test('freeRandomName skips taken names and gives up after a bound', async (t) => {
  const first = randomName(seededRng(9));
  const name = freeRandomName(seededRng(9), (n) => n === first);
  t.not(name, first);
  t.type(name, 'string');
  let asked = 0;
  t.equal(
    freeRandomName(seededRng(9), () => {
      asked++;
      return true;
    }),
    undefined,
  );
  t.equal(asked, maxGeneratedNameAttempts);
});
