/**
 * `WWW-Authenticate` challenges of registries (RFC 7235): `Basic realm="..."` and
 * `Bearer realm="...",service="...",scope="..."` (the Docker token flow). Pure.
 */

/** One parsed challenge. */
export interface AuthChallenge {
  /** Lowercase scheme: `basic`, `bearer`, ... */
  readonly scheme: string;
  readonly params: Readonly<Record<string, string>>;
}

/** Parses a WWW-Authenticate header value into its challenges (unparseable parts are skipped). */
export function parseAuthChallenges(header: string): AuthChallenge[] {
  const out: AuthChallenge[] = [];
  let i = 0;
  const s = header;
  let current: { scheme: string; params: Record<string, string> } | undefined;
  while (i < s.length) {
    while (i < s.length && (s[i] === ' ' || s[i] === ',')) i++;
    const tokenStart = i;
    while (i < s.length && /[A-Za-z0-9!#$%&'*+.^_`|~-]/.test(s[i] ?? '')) i++;
    const token = s.slice(tokenStart, i);
    if (token === '') {
      i++;
      continue;
    }
    while (i < s.length && s[i] === ' ') i++;
    if (s[i] === '=') {
      i++;
      while (i < s.length && s[i] === ' ') i++;
      let value = '';
      if (s[i] === '"') {
        i++;
        while (i < s.length && s[i] !== '"') {
          if (s[i] === '\\' && i + 1 < s.length) i++;
          value += s[i];
          i++;
        }
        i++;
      } else {
        const vs = i;
        while (i < s.length && s[i] !== ',' && s[i] !== ' ') i++;
        value = s.slice(vs, i);
      }
      if (current) current.params[token.toLowerCase()] = value;
    } else {
      current = { scheme: token.toLowerCase(), params: {} };
      out.push(current);
    }
  }
  return out;
}

/** The Docker token-service scope for a repository and actions. */
export function repositoryScope(path: string, actions: readonly ('pull' | 'push')[]): string {
  return `repository:${path}:${actions.join(',')}`;
}
