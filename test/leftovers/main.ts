/**
 * `node dist/test/leftovers/main.js snapshot FILE` records what is on the machine before the suite;
 * `... check FILE` fails (exit 1) listing everything the suite left behind.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { leftovers, scan, type Scan } from './scan.js';

const [mode, file] = process.argv.slice(2);
if ((mode !== 'snapshot' && mode !== 'check') || file === undefined) {
  process.stderr.write('usage: leftovers snapshot|check FILE\n');
  process.exit(2);
}
const now = await scan(process.pid);
if (mode === 'snapshot') {
  await writeFile(file, JSON.stringify(now));
  process.exit(0);
}
const before = JSON.parse(await readFile(file, 'utf8')) as Scan;
const found = leftovers(before, now);
if (found.length === 0) {
  process.stdout.write('leftovers: none (namespaces, mounts, cgroups, nft tables, processes, temp dirs, stray files)\n');
  process.exit(0);
}
process.stdout.write(`leftovers: the suite left ${found.length} thing(s) behind:\n${found.map((f) => `  ${f}\n`).join('')}`);
process.exit(1);
