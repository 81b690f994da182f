/**
 * `tsswarm volume ...`: the named volumes of the host whose tsswarmd the CLI talks to (`-H` /
 * TSSWARM_HOST), as `docker volume` does: create, ls, inspect, rm, prune.
 */
import { createInterface } from 'node:readline';
import { Command } from 'commander';
import { invalidArgument } from '../../lib/errors.js';
import type { Volume } from '../../proto/index.js';

import { collect } from '../container-flags.js';
import type { EngineClient } from '../engine-client.js';
import { parseOutput, renderDocuments, renderTemplateRows } from '../format-template.js';
import { renderJson } from '../output.js';
import type { VolumeCreateFlags } from '../volume-view.js';
import { humanSize } from './image.js';
import { eachRef } from './network.js';

type View = typeof import('../volume-view.js');

/** The client and view, loaded only when a volume command runs. */
async function connect(cmd: Command): Promise<{ engine: EngineClient; view: View }> {
  let root = cmd;
  while (root.parent) root = root.parent;
  const host = (root.opts() as { host?: string }).host;
  const [{ EngineClient: Client, engineAddress }, view] = await Promise.all([import('../engine-client.js'), import('../volume-view.js')]);
  return { engine: new Client(engineAddress(host)), view };
}

/** Asks on stderr; true for y or yes. */
async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: false });
  process.stderr.write(question);
  const answer = await new Promise<string>((resolve) => {
    rl.once('line', resolve);
    rl.once('close', () => resolve(''));
  });
  rl.close();
  return /^y(es)?$/i.test(answer.trim());
}

function createCommand(): Command {
  return new Command('create')
    .description('Create a volume (prints its name)')
    .option('-d, --driver <driver>', 'volume driver (only local)', 'local')
    .option('-o, --opt <key=value>', 'driver option: type, device, o (repeatable)', collect)
    .option('--label <key=value>', 'volume label (repeatable)', collect)
    .argument('[name]', 'volume name (default: a generated one)')
    .action(async (name: string | undefined, flags: VolumeCreateFlags, cmd: Command) => {
      const view = await import('../volume-view.js');
      const request = view.volumeCreateRequest(name, flags);
      const { engine } = await connect(cmd);
      const volume = await engine.volumeCreate(request).finally(() => engine.close());
      process.stdout.write(`${volume.name}\n`);
    });
}

function lsCommand(): Command {
  return new Command('ls')
    .alias('list')
    .description('List volumes')
    .option('-q, --quiet', 'only names')
    .option('-f, --filter <key=value>', 'name, label, driver or dangling=true|false (repeatable)', collect)
    .option('--format <format>', "table, json or a template such as '{{.Name}} {{.Mountpoint}}'")
    .action(async (flags: { quiet?: boolean; filter?: string[]; format?: string }, cmd: Command) => {
      const choice = parseOutput(flags.format);
      const { engine, view } = await connect(cmd);
      const filter = view.parseVolumeFilters(flags.filter ?? []);
      const { volumes } = await engine.volumeList().finally(() => engine.close());
      const rows = view.filterVolumes(volumes, filter).map(view.volumeRow);
      if (flags.quiet) process.stdout.write(rows.map((r) => `${r.Name}\n`).join(''));
      else if (choice.kind === 'json') process.stdout.write(renderJson(rows));
      else if (choice.kind === 'template') process.stdout.write(renderTemplateRows(choice.template, rows));
      else process.stdout.write(view.volumeTable(rows));
    });
}

function inspectCommand(): Command {
  return new Command('inspect')
    .description('Show details of volumes (JSON, or --format template)')
    .option('-f, --format <format>', "json or a template such as '{{.Mountpoint}}'")
    .argument('<volume...>')
    .action(async (names: string[], flags: { format?: string }, cmd: Command) => {
      const choice = parseOutput(flags.format);
      const { engine, view } = await connect(cmd);
      const found: Volume[] = [];
      const failure = await eachRef(names, async (name) => {
        found.push(await engine.volumeInspect(name));
      }).catch((err: unknown) => err);
      engine.close();
      if (found.length > 0) process.stdout.write(renderDocuments(choice, found.map(view.volumeDocument)));
      if (failure !== undefined) throw failure;
    });
}

function rmCommand(): Command {
  return new Command('rm')
    .alias('remove')
    .description('Remove volumes (never one a container uses)')
    .option('-f, --force', 'do not fail for volumes that do not exist')
    .argument('<volume...>')
    .action(async (names: string[], flags: { force?: boolean }, cmd: Command) => {
      const { engine } = await connect(cmd);
      try {
        await eachRef(names, async (name) => {
          await engine.volumeRemove(name, flags.force === true);
          process.stdout.write(`${name}\n`);
        });
      } finally {
        engine.close();
      }
    });
}

function pruneCommand(): Command {
  return new Command('prune')
    .description('Remove anonymous volumes no container uses (all unused volumes with --all)')
    .option('-a, --all', 'named volumes too')
    .option('--filter <label=key[=value]>', 'only volumes with this label (repeatable)', collect)
    .option('-f, --force', 'do not ask for confirmation')
    .action(async (flags: { all?: boolean; filter?: string[]; force?: boolean }, cmd: Command) => {
      const labels = (flags.filter ?? []).map((f) => {
        if (!f.startsWith('label=') || f.length === 'label='.length) throw invalidArgument(`invalid --filter ${JSON.stringify(f)}: use label=KEY or label=KEY=VALUE`);
        return f.slice('label='.length);
      });
      const what = flags.all === true ? 'all local volumes' : 'anonymous local volumes';
      if (flags.force !== true && !(await confirm(`WARNING! This will remove ${what} not used by at least one container.\nAre you sure you want to continue? [y/N] `))) return;
      const { engine, view } = await connect(cmd);
      const r = await engine.volumePrune({ all: flags.all === true, labelFilters: labels }).finally(() => engine.close());
      process.stdout.write(view.pruneReport(r.deleted, r.reclaimedBytes, humanSize));
    });
}

/** The `volume` command group. */
export function volumeCommand(): Command {
  const group = new Command('volume').description('Manage the volumes of this host').enablePositionalOptions();
  group.addCommand(createCommand());
  group.addCommand(lsCommand());
  group.addCommand(inspectCommand());
  group.addCommand(rmCommand());
  group.addCommand(pruneCommand());
  return group;
}
