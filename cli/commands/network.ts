/**
 * `tsswarm network ...`: the overlay networks of the swarm, through the Control service of the
 * local tsswarmd (a manager), as `docker network` does on a swarm manager. NETWORK is an ID, a
 * name or a unique ID prefix. Flags are checked before anything is sent.
 */
import { Command } from 'commander';
import { TsswarmError } from '../../lib/errors.js';
import type { Network } from '../../proto/index.js';
import { collect } from '../container-flags.js';
import { parseOutput, renderDocuments, renderTemplateRows } from '../format-template.js';
import type { NetworkCreateFlags } from '../network-view.js';
import { renderJson } from '../output.js';
import { withControl } from './swarm.js';

type View = typeof import('../network-view.js');

/** The network view module, loaded only when a network command runs. */
function loadView(): Promise<View> {
  return import('../network-view.js');
}

/** Runs `fn` on each reference, reporting each failure; fails (with every message) when any did. */
export async function eachRef(refs: readonly string[], fn: (ref: string) => Promise<void>): Promise<void> {
  const failures: TsswarmError[] = [];
  for (const ref of refs) {
    try {
      await fn(ref);
    } catch (err) {
      if (!(err instanceof TsswarmError)) throw err;
      failures.push(err);
    }
  }
  const [first] = failures;
  if (failures.length === 1 && first) throw first;
  if (first) throw new TsswarmError(first.code, failures.map((f) => f.message).join('; '));
}

function createCommand(): Command {
  return new Command('create')
    .description('Create an overlay network for services')
    .option('-d, --driver <driver>', 'network driver (only overlay)', 'overlay')
    .option('--subnet <cidr>', 'subnet in CIDR notation (repeatable)', collect)
    .option('--gateway <ip>', 'gateway of a subnet (repeatable)', collect)
    .option('--ip-range <cidr>', 'allocate addresses from this range of a subnet (repeatable)', collect)
    .option('--internal', 'no route to the outside world')
    .option('--attachable', 'standalone containers may attach too')
    .option('--label <key=value>', 'network label (repeatable)', collect)
    .option('-o, --opt <key=value>', "driver option, e.g. 'encrypted' (repeatable)", collect)
    .argument('<name>', 'network name')
    .action(async (name: string, flags: NetworkCreateFlags, cmd: Command) => {
      const view = await loadView();
      const spec = view.networkSpec(name, flags);
      const network = await withControl(cmd, (control) => control.createNetwork(spec));
      process.stdout.write(`${network.id}\n`);
    });
}

function lsCommand(): Command {
  return new Command('ls')
    .alias('list')
    .description('List the networks of the swarm')
    .option('-q, --quiet', 'only IDs')
    .option('--no-trunc', 'do not shorten IDs')
    .option('-f, --filter <key=value>', 'id, name, label, driver or scope (repeatable)', collect)
    .option('--format <format>', "table, json or a template such as '{{.ID}} {{.Name}}'")
    .action(async (flags: { quiet?: boolean; trunc: boolean; filter?: string[]; format?: string }, cmd: Command) => {
      const view = await loadView();
      const choice = parseOutput(flags.format);
      const filter = view.parseNetworkFilters(flags.filter ?? []);
      const networks = view.sortNetworks(view.filterNetworks(await withControl(cmd, (control) => control.listNetworks()), filter));
      const rows = networks.map((n) => view.networkRow(n, !flags.trunc));
      if (flags.quiet) process.stdout.write(rows.map((r) => `${r.ID}\n`).join(''));
      else if (choice.kind === 'json') process.stdout.write(renderJson(networks.map((n) => view.networkRow(n, true))));
      else if (choice.kind === 'template') process.stdout.write(renderTemplateRows(choice.template, rows));
      else process.stdout.write(view.networkTable(rows));
    });
}

function inspectCommand(): Command {
  return new Command('inspect')
    .description('Show details of networks (JSON, or --format template)')
    .option('-f, --format <format>', "json or a template such as '{{.Driver}}'")
    .argument('<network...>', 'name, ID or ID prefix')
    .action(async (refs: string[], flags: { format?: string }, cmd: Command) => {
      const view = await loadView();
      const choice = parseOutput(flags.format);
      const networks = await withControl(cmd, (control) => control.listNetworks());
      const found: Network[] = [];
      const failure = await eachRef(refs, async (ref) => {
        found.push(view.resolveNetwork(networks, ref));
      }).catch((err: unknown) => err);
      if (found.length > 0) process.stdout.write(renderDocuments(choice, found.map(view.networkDocument)));
      if (failure !== undefined) throw failure;
    });
}

function rmCommand(): Command {
  return new Command('rm')
    .alias('remove')
    .description('Remove networks (not while services use them)')
    .argument('<network...>', 'name, ID or ID prefix')
    .action(async (refs: string[], _flags: unknown, cmd: Command) => {
      const view = await loadView();
      await withControl(cmd, async (control) => {
        const networks = await control.listNetworks();
        await eachRef(refs, async (ref) => {
          await control.removeNetwork(view.resolveNetwork(networks, ref).id);
          process.stdout.write(`${ref}\n`);
        });
      });
    });
}

/** The `network` command group. */
export function networkCommand(): Command {
  const group = new Command('network').description('Manage the overlay networks of the swarm (run on a manager)').enablePositionalOptions();
  group.addCommand(createCommand());
  group.addCommand(lsCommand());
  group.addCommand(inspectCommand());
  group.addCommand(rmCommand());
  return group;
}
