/**
 * Registry credentials saved by `tsswarm login`: `<dataDir>/auth.json`, mode 0600, in the shape of
 * docker's config.json (`{"auths": {"host": {"auth": base64("user:password")}}}`).
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCode, TsswarmError } from '../../lib/errors.js';

/** A user name and password (or token) for one registry. */
export interface Credentials {
  readonly username: string;
  readonly password: string;
}

type AuthFile = { auths: Record<string, { auth: string }> };

/** Path of the credentials file in a data dir. */
export function credentialsPath(dataDir: string): string {
  return join(dataDir, 'auth.json');
}

async function readAuthFile(dataDir: string): Promise<AuthFile> {
  let text: string;
  try {
    text = await readFile(credentialsPath(dataDir), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { auths: {} };
    throw new TsswarmError(ErrorCode.EXTERNAL, `cannot read ${credentialsPath(dataDir)}: ${(err as Error).message}`);
  }
  try {
    const parsed = JSON.parse(text) as Partial<AuthFile>;
    return { auths: typeof parsed.auths === 'object' && parsed.auths !== null ? parsed.auths : {} };
  } catch {
    throw new TsswarmError(ErrorCode.CORRUPT, `${credentialsPath(dataDir)} is not valid JSON`);
  }
}

async function writeAuthFile(dataDir: string, file: AuthFile): Promise<void> {
  await mkdir(dataDir, { recursive: true });
  const target = credentialsPath(dataDir);
  const tmp = `${target}.tmp-${randomBytes(6).toString('hex')}`;
  try {
    const fh = await open(tmp, 'wx', 0o600);
    try {
      await fh.writeFile(`${JSON.stringify(file, null, 2)}\n`);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await chmod(tmp, 0o600);
    await rename(tmp, target);
  } finally {
    await rm(tmp, { force: true });
  }
}

/** The saved credentials for `host`, if any. */
export async function loadCredentials(dataDir: string, host: string): Promise<Credentials | undefined> {
  const entry = (await readAuthFile(dataDir)).auths[host.toLowerCase()];
  if (!entry || typeof entry.auth !== 'string') return undefined;
  const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** Saves credentials for `host` (file mode 0600). */
export async function saveCredentials(dataDir: string, host: string, creds: Credentials): Promise<void> {
  const file = await readAuthFile(dataDir);
  file.auths[host.toLowerCase()] = { auth: Buffer.from(`${creds.username}:${creds.password}`, 'utf8').toString('base64') };
  await writeAuthFile(dataDir, file);
}

/** Forgets the credentials for `host`; false when there were none. */
export async function removeCredentials(dataDir: string, host: string): Promise<boolean> {
  const file = await readAuthFile(dataDir);
  if (!file.auths[host.toLowerCase()]) return false;
  delete file.auths[host.toLowerCase()];
  await writeAuthFile(dataDir, file);
  return true;
}
