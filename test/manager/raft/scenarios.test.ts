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

const here = dirname(fileURLToPath(import.meta.url));
const testdata = join(here, 'testdata');
const update = process.env['UPDATE_TESTDATA'] === '1';

interface Step {
  readonly command: string;
  readonly expected: string[];
  readonly comments: string[];
}

function parseScript(source: string): { header: string[]; steps: Step[] } {
  const header: string[] = [];
  const steps: Step[] = [];
  let comments: string[] = [];
  let current: Step | undefined;
  for (const line of source.split('\n')) {
    if (line.startsWith('> ')) {
      current = { command: line.slice(2), expected: [], comments };
      comments = [];
      steps.push(current);
    } else if (line.startsWith('#') || line.trim() === '') {
      current = undefined;
      if (steps.length === 0) header.push(line);
      else comments.push(line);
    } else if (current !== undefined) {
      current.expected.push(line);
    } else {
      throw new Error(`output line outside a step: ${line}`);
    }
  }
  return { header, steps };
}

function render(header: string[], steps: { command: string; output: string[]; comments: string[] }[]): string {
  const lines = [...header];
  for (const s of steps) lines.push(...s.comments, `> ${s.command}`, ...s.output);
  return `${lines.join('\n').replace(/\n+$/, '')}\n`;
}

for (const file of readdirSync(testdata).filter((f) => f.endsWith('.txt')).sort()) {
  t.test(file, async (t) => {
    const path = join(testdata, file);
    const { header, steps } = parseScript(readFileSync(path, 'utf8'));
    const harness = new Harness();
    const actual = steps.map((s) => ({ command: s.command, output: harness.run(s.command), comments: s.comments }));
    if (update) {
      writeFileSync(path, render(header, actual));
      t.pass('rewrote expectations');
      return;
    }
    for (const [i, s] of steps.entries()) {
      t.same(actual[i]?.output, s.expected, `${file}: > ${s.command}`);
    }
  });
}
