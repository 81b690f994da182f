/**
 * The `.env` file beside the first compose file, and `env_file:` files of services: `KEY=value`
 * lines, `#` comments and blank lines skipped, an optional `export ` prefix, values optionally in
 * single quotes (taken as written) or double quotes (`\n`, `\"`, `\\` understood), ` #` starting a
 * comment after an unquoted value. A line without `=` means "KEY from the environment" and is kept
 * as `undefined`. Pure.
 */
import { fail } from './compose-error.js';

/** Parses env file text; `file` names it in errors. */
export function parseDotEnv(text: string, file: string): Map<string, string | undefined> {
  const out = new Map<string, string | undefined>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const body = line.startsWith('export ') ? line.slice('export '.length).trimStart() : line;
    const eq = body.indexOf('=');
    const key = (eq < 0 ? body : body.slice(0, eq)).trim();
    if (!/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(key)) fail({ file, line: i + 1 }, '', `invalid variable name ${JSON.stringify(key)} (use KEY=VALUE)`);
    out.set(key, eq < 0 ? undefined : unquote(body.slice(eq + 1).trim(), { file, line: i + 1 }));
  });
  return out;
}

function unquote(value: string, pos: { file: string; line: number }): string {
  const q = value[0];
  if (q === "'" || q === '"') {
    const end = value.indexOf(q, 1);
    let close = end;
    if (q === '"') {
      close = -1;
      for (let i = 1; i < value.length; i++) {
        if (value[i] === '\\') i++;
        else if (value[i] === '"') {
          close = i;
          break;
        }
      }
    }
    if (close < 0) fail(pos, '', `unterminated ${q} quote`);
    const inner = value.slice(1, close);
    return q === "'" ? inner : inner.replace(/\\(.)/g, (_m, c: string) => (c === 'n' ? '\n' : c === 't' ? '\t' : c));
  }
  const hash = value.search(/\s#/);
  return (hash < 0 ? value : value.slice(0, hash)).trimEnd();
}
