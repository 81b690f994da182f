/**
 * What the test suite may leave behind, and the comparison of two scans (before and after the
 * suite). `npm test` fails when the second scan has anything the first did not.
 */
import { execFile } from 'node:child_process';
import { readFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { listNetns, netnsPids } from '../../deploy/lab/netns.js';
import { repoRoot } from '../helpers/cli.js';

const execFileAsync = promisify(execFile);

/** Everything the suite could leak, by kind. */
export interface Scan {
  readonly namespaces: readonly string[];
  readonly mounts: readonly string[];
  readonly cgroups: readonly string[];
  readonly nftTables: readonly string[];
  readonly processes: readonly string[];
  readonly tempDirs: readonly string[];
  /** Files in the repository that git neither tracks nor ignores. */
  readonly strayFiles: readonly string[];
}

/** Prefix of temp dirs that tests make (see test/helpers/temp-dir.ts). */
export const testTempPrefix = 'tsswarm-';
/** Network namespaces of labs. */
const netnsPrefix = 'tss-';
/** Mount points that belong to tsswarm. */
const ourMountPrefixes = ['/var/lib/tsswarm', '/run/tsswarm', `/run/netns/${netnsPrefix}`];
/** Process command lines that point at a tsswarm part or a tool the suite starts. */
const ourProcessPattern = /tsswarm|conmon|\brunc\b|\betcd\b|docker-registry|iperf3|busybox|\/test\/.*\.test\.[tj]s/;

/** Names (or descriptions) of things that are in `after` but not in `before`, by kind (pure). */
export function leftovers(before: Scan, after: Scan): string[] {
  const out: string[] = [];
  for (const kind of Object.keys(after) as (keyof Scan)[]) {
    const seen = new Set(before[kind]);
    for (const item of after[kind]) if (!seen.has(item)) out.push(`${kind}: ${item}`);
  }
  return out;
}

/** Mount points of tsswarm in a mountinfo text (pure). */
export function ourMounts(mountinfo: string): string[] {
  return mountinfo
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .filter((point) => ourMountPrefixes.some((p) => point.startsWith(p)));
}

/** Table names made by tsswarm in `nft list tables` output (pure). */
export function ourNftTables(listing: string): string[] {
  return listing
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => /^table \S+ (tss|tsswarm)/.test(line));
}

/** Scans the machine. `self` is the pid whose ancestry is excluded from the process list. */
export async function scan(self: number = process.pid): Promise<Scan> {
  const [namespaces, mounts, cgroups, nftTables, processes, tempDirs, strayFiles] = await Promise.all([
    scanNamespaces(),
    readFile('/proc/self/mountinfo', 'utf8').then(ourMounts),
    scanCgroups(),
    execFileAsync('nft', ['list', 'tables']).then((r) => ourNftTables(r.stdout), () => []),
    scanProcesses(self),
    readdir(tmpdir()).then((names) => names.filter((n) => n.startsWith(testTempPrefix)).map((n) => join(tmpdir(), n))),
    execFileAsync('git', ['status', '--porcelain', '--untracked-files=all'], { cwd: repoRoot }).then(
      (r) => r.stdout.split('\n').filter((l) => l.startsWith('?? ')).map((l) => l.slice(3)),
      () => [],
    ),
  ]);
  return { namespaces, mounts, cgroups, nftTables, processes, tempDirs, strayFiles };
}

async function scanNamespaces(): Promise<string[]> {
  return (await listNetns()).filter((n) => n.startsWith(netnsPrefix));
}

async function scanCgroups(): Promise<string[]> {
  const root = '/sys/fs/cgroup';
  const hierarchies = await readdir(root).catch(() => [] as string[]);
  const found: string[] = [];
  for (const h of hierarchies) {
    const entries = await readdir(join(root, h)).catch(() => [] as string[]);
    for (const e of entries) if (e.startsWith('tsswarm')) found.push(join(root, h, e));
  }
  return found.sort();
}

async function ancestry(pid: number): Promise<Set<number>> {
  const chain = new Set<number>();
  let current = pid;
  while (current > 1 && !chain.has(current)) {
    chain.add(current);
    const stat = await readFile(`/proc/${current}/stat`, 'utf8').catch(() => '');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (!Number.isInteger(ppid)) break;
    current = ppid;
  }
  return chain;
}

async function scanProcesses(self: number): Promise<string[]> {
  const mine = await ancestry(self);
  const inLabs = new Set(await netnsPids(await scanNamespaces()));
  const found: string[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (mine.has(pid)) continue;
    const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).replace(/\0/g, ' ').trim();
    if (cmdline === '') continue;
    if (ourProcessPattern.test(cmdline) || inLabs.has(pid)) found.push(`${pid} ${cmdline.slice(0, 160)}`);
  }
  return found;
}
