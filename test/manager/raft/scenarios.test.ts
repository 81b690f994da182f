/**
 * Runs every script in testdata/*.txt against the Harness. A command line starts with `> `; the
 * lines after it, up to the next command, comment (`#`) or blank line, are the output it must
 * produce. UPDATE_TESTDATA=1 rewrites the expectations from the actual output.
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { Harness } from './harness.js';
import { parseScript, renderScript } from '../../helpers/script-file.js';

const here = dirname(fileURLToPath(import.meta.url));
const testdata = join(here, 'testdata');
const update = process.env['UPDATE_TESTDATA'] === '1';


for (const file of readdirSync(testdata).filter((f) => f.endsWith('.txt')).sort()) {
  t.test(file, async (t) => {
    const path = join(testdata, file);
    const { header, steps } = parseScript(readFileSync(path, 'utf8'));
    const harness = new Harness();
    const actual = steps.map((s) => ({ command: s.command, output: harness.run(s.command), comments: s.comments }));
    if (update) {
      writeFileSync(path, renderScript(header, actual));
      t.pass('rewrote expectations');
      return;
    }
    for (const [i, s] of steps.entries()) {
      t.same(actual[i]?.output, s.expected, `${file}: > ${s.command}`);
    }
  });
}
