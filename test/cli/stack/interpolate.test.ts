/**
 * cli/stack/interpolate.ts and dotenv.ts: substitution of one text, and the `.env` format.
 */
import t from 'tap';
import { parseDotEnv } from '../../../cli/stack/dotenv.js';
import { InterpolationError, interpolate } from '../../../cli/stack/interpolate.js';

const vars: Record<string, string> = { A: 'a', EMPTY: '', PATH_X: '/x' };
const lookup = (name: string): string | undefined => vars[name];

t.test('substitutions', async (t) => {
  const cases: [string, string][] = [
    ['plain', 'plain'],
    ['$A', 'a'],
    ['${A}', 'a'],
    ['x$A.y', 'xa.y'],
    ['$PATH_X/bin', '/x/bin'],
    ['${MISSING}', ''],
    ['$MISSING', ''],
    ['${MISSING:-dflt}', 'dflt'],
    ['${EMPTY:-dflt}', 'dflt'],
    ['${EMPTY-dflt}', ''],
    ['${MISSING-dflt}', 'dflt'],
    ['${A:-dflt}', 'a'],
    ['${A:+alt}', 'alt'],
    ['${EMPTY:+alt}', ''],
    ['${EMPTY+alt}', 'alt'],
    ['${MISSING:-${A}-${MISSING:-z}}', 'a-z'],
    ['$$A', '$A'],
    ['$${A}', '${A}'],
    ['100$$', '100$'],
    ['${A:?needed}', 'a'],
    ['${MISSING:-}', ''],
  ];
  for (const [text, want] of cases) t.equal(interpolate(text, lookup), want, text);
});

t.test('errors', async (t) => {
  t.throws(() => interpolate('${MISSING:?set it}', lookup), new InterpolationError('required variable MISSING is missing a value: set it'));
  t.throws(() => interpolate('${EMPTY:?}', lookup), new InterpolationError('required variable EMPTY is missing a value'));
  t.equal(interpolate('${EMPTY?}', lookup), '', '? without colon accepts empty');
  t.throws(() => interpolate('${MISSING?}', lookup), /required variable MISSING/);
  t.throws(() => interpolate('${A', lookup), /unclosed/);
  t.throws(() => interpolate('a $ b', lookup), /a \$ must start a variable/);
  t.throws(() => interpolate('${}', lookup), /names no variable/);
  t.throws(() => interpolate('${1A}', lookup), /names no variable/);
  t.throws(() => interpolate('${A*b}', lookup), /unknown operator/);
});

t.test('.env files', async (t) => {
  const env = parseDotEnv('# comment\n\nA=1\nexport B=two words\nC="quoted # not a comment"\nD=\'single $X\'\nE=value # comment\nF\nG="line\\nbreak"\n', '.env');
  t.same([...env], [['A', '1'], ['B', 'two words'], ['C', 'quoted # not a comment'], ['D', 'single $X'], ['E', 'value'], ['F', undefined], ['G', 'line\nbreak']]);
  t.throws(() => parseDotEnv('A=1\nbad key=2\n', '.env'), { message: '.env:2: invalid variable name "bad key" (use KEY=VALUE)' });
  t.throws(() => parseDotEnv('A="open\n', '.env'), { message: '.env:1: unterminated " quote' });
});
