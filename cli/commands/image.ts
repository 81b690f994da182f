/**
 * `tsswarm image`: pull, push, ls, inspect, rm, tag, load, save, import, prune, login, logout. The
 * commands work on the local image store of the data dir (`--data-dir`, TSSWARM_DATA_DIR, default
 * /var/lib/tsswarm) through ImageService; later the daemon serves the same service.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Command, Option } from 'commander';
import cliProgress from 'cli-progress';
import { invalidArgument } from '../../lib/errors.js';
import { containersUsing } from '../../worker/engine/image-users.js';
import { ImageService } from '../../worker/images/image-service.js';
import { resolveDataDir } from '../../worker/images/image-store.js';
import type { ProgressEvent, ProgressListener } from '../../worker/images/progress.js';
import { parseFormat, renderJson, renderTable } from '../output.js';

/** Options every image command takes. */
interface StoreOptions {
  dataDir?: string;
  insecureRegistry?: string[];
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

function withStore(cmd: Command, registry = false): Command {
  cmd.addOption(new Option('--data-dir <dir>', 'tsswarm data dir (default: $TSSWARM_DATA_DIR or /var/lib/tsswarm)'));
  if (registry) {
    cmd.addOption(new Option('--insecure-registry <host:port>', 'speak plain HTTP to this loopback or lab registry (repeatable)').argParser(collect));
  }
  return cmd;
}

function service(opts: StoreOptions): ImageService {
  const dataDir = resolveDataDir(opts.dataDir);
  return new ImageService({ dataDir, insecureRegistries: opts.insecureRegistry ?? [], usedBy: containersUsing(dataDir) });
}

/** Docker's short form of an image ID (12 hex characters). */
export function shortImageId(id: string): string {
  return id.replace(/^sha256:/, '').slice(0, 12);
}

/** Sizes as docker prints them: SI units, three significant digits (`4.26MB`, `828kB`, `0B`). */
export function humanSize(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${Number(value.toPrecision(3))}${units[unit] ?? 'B'}`;
}

/** Ages as docker prints them (`About a minute ago`, `3 hours ago`, `2 years ago`). */
export function humanAge(createdIso: string | undefined, now: Date): string {
  if (createdIso === undefined) return 'N/A';
  const created = Date.parse(createdIso);
  if (Number.isNaN(created)) return 'N/A';
  const s = Math.max(0, (now.getTime() - created) / 1000);
  const plural = (n: number, unit: string): string => `${n} ${unit}${n === 1 ? '' : 's'} ago`;
  if (s < 1) return 'Less than a second ago';
  if (s < 60) return plural(Math.floor(s), 'second');
  const m = s / 60;
  if (m < 2) return 'About a minute ago';
  if (m < 60) return plural(Math.floor(m), 'minute');
  const h = m / 60;
  if (h < 2) return 'About an hour ago';
  if (h < 48) return plural(Math.floor(h), 'hour');
  const d = h / 24;
  if (d < 14) return plural(Math.floor(d), 'day');
  if (d < 60) return plural(Math.floor(d / 7), 'week');
  if (d < 365 * 2) return plural(Math.floor(d / 30), 'month');
  return plural(Math.floor(d / 365), 'year');
}

/** Progress output: bars on a terminal, one line per finished blob otherwise, nothing with -q. */
class ProgressView {
  private readonly multibar: cliProgress.MultiBar | undefined;
  private readonly bars = new Map<string, cliProgress.SingleBar>();
  private readonly finished = new Set<string>();

  constructor(
    private readonly verb: 'Pull' | 'Push' | 'Load' | 'Import',
    private readonly quiet: boolean,
  ) {
    if (!quiet && process.stdout.isTTY === true) {
      this.multibar = new cliProgress.MultiBar(
        { format: '{id}: {phase} [{bar}] {done}/{size}', hideCursor: true, clearOnComplete: false, stopOnComplete: false, barsize: 30 },
        cliProgress.Presets.shades_classic,
      );
    }
  }

  readonly listener: ProgressListener = (e: ProgressEvent) => {
    if (this.quiet) return;
    const id = shortImageId(e.digest);
    const phase = e.phase === 'exists' ? 'Already exists' : e.phase === 'done' ? `${this.verb} complete` : e.phase[0]?.toUpperCase() + e.phase.slice(1);
    if (this.multibar) {
      let bar = this.bars.get(id);
      const payload = { id, phase: phase.padEnd(16), done: humanSize(e.current), size: humanSize(e.total) };
      if (!bar) {
        bar = this.multibar.create(Math.max(e.total, 1), e.current, payload);
        this.bars.set(id, bar);
      }
      bar.update(Math.min(e.current, Math.max(e.total, 1)), payload);
      return;
    }
    if ((e.phase === 'done' || e.phase === 'exists') && !this.finished.has(id)) {
      this.finished.add(id);
      process.stdout.write(`${id}: ${phase}\n`);
    }
  };

  stop(): void {
    this.multibar?.stop();
  }
}

async function withProgress<T>(view: ProgressView, fn: (listener: ProgressListener) => Promise<T>): Promise<T> {
  try {
    return await fn(view.listener);
  } finally {
    view.stop();
  }
}

async function readStdin(): Promise<string> {
  const parts: Buffer[] = [];
  for await (const chunk of process.stdin) parts.push(chunk as Buffer);
  return Buffer.concat(parts).toString('utf8');
}

/** Parses `import --change` values: only `CMD ["a","b"]` or `CMD a b` (shell form) (pure). */
export function parseImportChanges(changes: readonly string[]): { cmd?: string[] } {
  let cmd: string[] | undefined;
  for (const change of changes) {
    const m = /^\s*CMD\s+(.+)$/i.exec(change);
    if (!m || m[1] === undefined) throw invalidArgument(`unsupported --change ${JSON.stringify(change)} (only CMD is supported)`);
    const body = m[1].trim();
    if (body.startsWith('[')) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(body);
      } catch {
        throw invalidArgument(`--change ${JSON.stringify(change)}: CMD [...] must be a JSON array of strings`);
      }
      if (!Array.isArray(parsed) || !parsed.every((s) => typeof s === 'string')) throw invalidArgument(`--change ${JSON.stringify(change)}: CMD [...] must be a JSON array of strings`);
      cmd = parsed as string[];
    } else {
      cmd = ['/bin/sh', '-c', body];
    }
  }
  return cmd ? { cmd } : {};
}

/** `login SERVER`: checks the credentials against the registry, then stores them (0600). */
export function loginCommand(name = 'login'): Command {
  return withStore(
    new Command(name)
      .description('Log in to a registry (credentials are checked, then saved with mode 0600 in the data dir)')
      .argument('<server>', 'registry host[:port]')
      .option('-u, --username <user>', 'user name')
      .option('-p, --password <password>', 'password (prefer --password-stdin)')
      .option('--password-stdin', 'read the password from standard input'),
    true,
  ).action(async (server: string, opts: StoreOptions & { username?: string; password?: string; passwordStdin?: boolean }) => {
    if (opts.username === undefined) throw invalidArgument('login needs --username');
    if (opts.password !== undefined && opts.passwordStdin === true) throw invalidArgument('give --password or --password-stdin, not both');
    let password = opts.password;
    if (opts.passwordStdin === true) password = (await readStdin()).replace(/\r?\n$/, '');
    if (password === undefined) throw invalidArgument('login needs --password-stdin (or --password)');
    await service(opts).login(server, { username: opts.username, password });
    process.stdout.write('Login Succeeded\n');
  });
}

/** `logout SERVER`: forgets saved credentials. */
export function logoutCommand(name = 'logout'): Command {
  return withStore(new Command(name).description('Forget the saved credentials of a registry').argument('<server>', 'registry host[:port]')).action(
    async (server: string, opts: StoreOptions) => {
      const removed = await service(opts).logout(server);
      process.stdout.write(removed ? `Removing login credentials for ${server}\n` : `Not logged in to ${server}\n`);
    },
  );
}

/** The `image` command group. */
export function imageCommand(): Command {
  const image = new Command('image').description('Manage images in the local store: pull, push, load, save, ...').enablePositionalOptions();

  withStore(
    image.command('pull').description('Pull an image from a registry').argument('<name>', 'image reference (NAME[:TAG] or NAME@DIGEST)').option('-q, --quiet', 'print only the image name'),
    true,
  ).action(async (name: string, opts: StoreOptions & { quiet?: boolean }) => {
    const svc = service(opts);
    const quiet = opts.quiet === true;
    const r = await withProgress(new ProgressView('Pull', quiet), (onProgress) => svc.pull(name, { onProgress }));
    if (!quiet) {
      process.stdout.write(`Digest: ${r.digest}\n`);
      process.stdout.write(r.downloaded ? `Status: Downloaded newer image for ${r.reference}\n` : `Status: Image is up to date for ${r.reference}\n`);
    }
    process.stdout.write(`${r.reference}\n`);
  });

  withStore(
    image.command('push').description('Push an image to a registry').argument('<name>', 'local tag to push (NAME[:TAG])').option('-q, --quiet', 'print only the digest'),
    true,
  ).action(async (name: string, opts: StoreOptions & { quiet?: boolean }) => {
    const svc = service(opts);
    const quiet = opts.quiet === true;
    const r = await withProgress(new ProgressView('Push', quiet), (onProgress) => svc.push(name, { onProgress }));
    if (quiet) process.stdout.write(`${r.digest}\n`);
    else process.stdout.write(`${r.reference}: digest: ${r.digest} size: ${r.size}\n`);
  });

  withStore(
    image
      .command('ls')
      .alias('list')
      .description('List images')
      .option('--format <format>', 'table or json')
      .option('-q, --quiet', 'print only image IDs')
      .option('--no-trunc', 'show full image IDs'),
  ).action(async (opts: StoreOptions & { format?: string; quiet?: boolean; trunc: boolean }) => {
    const format = parseFormat(opts.format);
    const rows = await service(opts).list();
    const id = (full: string): string => (opts.trunc ? shortImageId(full) : full);
    if (opts.quiet === true) {
      process.stdout.write([...new Set(rows.map((r) => id(r.id)))].map((i) => `${i}\n`).join(''));
      return;
    }
    if (format === 'json') {
      process.stdout.write(
        renderJson(rows.map((r) => ({ Repository: r.repository, Tag: r.tag, ID: r.id, Digest: r.digest, CreatedAt: r.created ?? '', Size: r.size }))),
      );
      return;
    }
    const now = new Date();
    process.stdout.write(
      renderTable(
        ['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE'],
        rows.map((r) => [r.repository, r.tag, id(r.id), humanAge(r.created, now), humanSize(r.size)]),
      ),
    );
  });

  withStore(
    image
      .command('inspect')
      .description('Show details of images as JSON')
      .argument('<names...>', 'image names or IDs')
      .option('--format <format>', 'json (the only format)'),
  ).action(async (names: string[], opts: StoreOptions & { format?: string }) => {
    if (parseFormat(opts.format ?? 'json') !== 'json') throw invalidArgument('image inspect prints JSON only (--format json)');
    const svc = service(opts);
    const out: unknown[] = [];
    for (const n of names) out.push(await svc.inspect(n));
    process.stdout.write(renderJson(out));
  });

  withStore(
    image
      .command('rm')
      .alias('remove')
      .description('Remove images (tags; the image and its unused layers go with its last tag)')
      .argument('<names...>', 'image names or IDs')
      .option('-f, --force', 'remove an image ID that several repositories use'),
  ).action(async (names: string[], opts: StoreOptions & { force?: boolean }) => {
    const svc = service(opts);
    for (const n of names) {
      const r = await svc.remove(n, { force: opts.force === true });
      for (const u of r.untagged) process.stdout.write(`Untagged: ${u}\n`);
      for (const d of r.deleted) process.stdout.write(`Deleted: ${d}\n`);
    }
  });

  withStore(image.command('tag').description('Give an image another name').argument('<source>', 'image name or ID').argument('<target>', 'new NAME[:TAG]')).action(
    async (source: string, target: string, opts: StoreOptions) => {
      await service(opts).tag(source, target);
    },
  );

  withStore(
    image
      .command('load')
      .description('Load images from a docker-save or OCI-layout tarball')
      .option('-i, --input <file>', 'read from this file instead of standard input')
      .option('-q, --quiet', 'print only the loaded names'),
  ).action(async (opts: StoreOptions & { input?: string; quiet?: boolean }) => {
    const svc = service(opts);
    const quiet = opts.quiet === true;
    let file = opts.input;
    let scratch: string | undefined;
    if (file === undefined) {
      if (process.stdin.isTTY === true) throw invalidArgument('image load reads a tarball from standard input; give -i FILE or pipe one in');
      scratch = await mkdtemp(join(tmpdir(), 'tsswarm-load-'));
      file = join(scratch, 'input.tar');
      await pipeline(process.stdin, createWriteStream(file));
    }
    try {
      const names = await withProgress(new ProgressView('Load', true), (onProgress) => svc.load(resolve(file), { onProgress }));
      for (const n of names) process.stdout.write(quiet ? `${n}\n` : n.startsWith('sha256:') ? `Loaded image ID: ${n}\n` : `Loaded image: ${n}\n`);
    } finally {
      if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
    }
  });

  withStore(
    image
      .command('save')
      .description('Save images to a docker-save tarball')
      .argument('<names...>', 'image names or IDs')
      .option('-o, --output <file>', 'write to this file instead of standard output'),
  ).action(async (names: string[], opts: StoreOptions & { output?: string }) => {
    const svc = service(opts);
    if (opts.output !== undefined) {
      const out = resolve(opts.output);
      const parent = await stat(dirname(out)).catch(() => undefined);
      if (!parent?.isDirectory()) throw invalidArgument(`cannot write ${opts.output}: directory ${dirname(out)} does not exist`);
      await svc.save(names, out);
      return;
    }
    if (process.stdout.isTTY === true) throw invalidArgument('refusing to write a tarball to a terminal; give -o FILE or redirect the output');
    const scratch = await mkdtemp(join(tmpdir(), 'tsswarm-save-'));
    try {
      const file = join(scratch, 'out.tar');
      await svc.save(names, file);
      await pipeline(createReadStream(file), process.stdout, { end: false });
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  });

  withStore(
    image
      .command('import')
      .description('Make a one-layer image from a root filesystem tarball')
      .argument('<file>', 'tarball (plain, gzip or zstd)')
      .argument('[name]', 'NAME[:TAG] for the new image')
      .option('-c, --change <instruction>', 'apply a Dockerfile instruction (CMD only)', collect),
  ).action(async (file: string, name: string | undefined, opts: StoreOptions & { change?: string[] }) => {
    const changes = parseImportChanges(opts.change ?? []);
    const id = await service(opts).import(resolve(file), name, changes);
    process.stdout.write(`${id}\n`);
  });

  withStore(
    image
      .command('prune')
      .description('Remove untagged images (all images with -a) and unused layers')
      .option('-a, --all', 'remove all images, not only untagged ones')
      .option('-f, --force', 'do not ask (accepted for docker compatibility; never asks)'),
  ).action(async (opts: StoreOptions & { all?: boolean }) => {
    const r = await service(opts).prune({ all: opts.all === true });
    for (const d of r.deleted) process.stdout.write(`Deleted: ${d}\n`);
    process.stdout.write(`Total reclaimed space: ${humanSize(r.reclaimed.bytes)}\n`);
  });

  image.addCommand(loginCommand());
  image.addCommand(logoutCommand());
  return image;
}
