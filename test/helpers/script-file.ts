/**
 * Script files for table-driven tests: a command line starts with `> `; the lines after it, up to
 * the next command, comment (`#`) or blank line, are the output it must produce.
 * UPDATE_TESTDATA=1 rewrites the expectations from the actual output.
 */

/** One command of a script and the output written under it. */
export interface Step {
  readonly command: string;
  readonly expected: string[];
  readonly comments: string[];
}

/** Splits a script into its header comments and its steps. */
export function parseScript(source: string): { header: string[]; steps: Step[] } {
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

/** Writes a script back with the given outputs. */
export function renderScript(header: string[], steps: { command: string; output: string[]; comments: string[] }[]): string {
  const lines = [...header];
  for (const s of steps) lines.push(...s.comments, `> ${s.command}`, ...s.output);
  return `${lines.join('\n').replace(/\n+$/, '')}\n`;
}

/** Splits `word key=value key=value` into positional words and options. */
export function parseArgs(text: string): { words: string[]; opts: Map<string, string> } {
  const words: string[] = [];
  const opts = new Map<string, string>();
  for (const token of text.split(/\s+/).filter((x) => x !== '')) {
    const eq = token.indexOf('=');
    if (eq > 0) opts.set(token.slice(0, eq), token.slice(eq + 1));
    else words.push(token);
  }
  return { words, opts };
}
