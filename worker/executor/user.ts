/**
 * Resolves a container's `--user` (name or number, with optional group) against the image's
 * /etc/passwd and /etc/group, as docker does. Pure: takes the files' text.
 */
import { invalidArgument } from '../../lib/errors.js';
import type { NumericUser } from './oci-spec.js';

interface PasswdEntry {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}

interface GroupEntry {
  readonly name: string;
  readonly gid: number;
  readonly members: readonly string[];
}

function parsePasswd(text: string): PasswdEntry[] {
  return text
    .split('\n')
    .map((line) => line.split(':'))
    .filter((f) => f.length >= 4 && /^\d+$/.test(f[2] ?? '') && /^\d+$/.test(f[3] ?? ''))
    .map((f) => ({ name: f[0] ?? '', uid: Number(f[2]), gid: Number(f[3]) }));
}

function parseGroup(text: string): GroupEntry[] {
  return text
    .split('\n')
    .map((line) => line.split(':'))
    .filter((f) => f.length >= 3 && /^\d+$/.test(f[2] ?? ''))
    .map((f) => ({ name: f[0] ?? '', gid: Number(f[2]), members: (f[3] ?? '').split(',').filter((m) => m !== '') }));
}

const maxId = 2 ** 32 - 2;

function numericId(text: string): number | undefined {
  if (!/^\d+$/.test(text)) return undefined;
  const n = Number(text);
  return n <= maxId ? n : undefined;
}

/**
 * `user` is "", "name", "uid", "name:group", "uid:gid" ... An empty user is root. A name that the
 * image does not know is an INVALID_ARGUMENT error naming it.
 */
export function resolveUser(user: string, passwdText: string, groupText: string): NumericUser {
  if (user === '') return { uid: 0, gid: 0 };
  const [userPart = '', groupPart] = user.split(':', 2);
  const passwd = parsePasswd(passwdText);
  const groups = parseGroup(groupText);
  let uid = numericId(userPart);
  let gid: number | undefined;
  let name: string | undefined;
  if (uid === undefined) {
    const entry = passwd.find((p) => p.name === userPart);
    if (!entry) throw invalidArgument(`unable to find user ${userPart}: no matching entries in the image's /etc/passwd`);
    uid = entry.uid;
    gid = entry.gid;
    name = entry.name;
  } else {
    const entry = passwd.find((p) => p.uid === uid);
    gid = entry?.gid ?? 0;
    name = entry?.name;
  }
  if (groupPart !== undefined && groupPart !== '') {
    const g = numericId(groupPart) ?? groups.find((e) => e.name === groupPart)?.gid;
    if (g === undefined) throw invalidArgument(`unable to find group ${groupPart}: no matching entries in the image's /etc/group`);
    gid = g;
  }
  const extra = name === undefined ? [] : groups.filter((g) => g.members.includes(name) && g.gid !== gid).map((g) => g.gid);
  return extra.length > 0 ? { uid, gid, additionalGids: extra } : { uid, gid };
}
