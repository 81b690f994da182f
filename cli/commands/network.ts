/**
 * `tsswarm network ...`: the overlay networks of the swarm, through the Control service of the
 * local tsswarmd (a manager), and this host's own bridge networks (`-d bridge`, scope local),
 * through its Swarm service, as `docker network` does on a swarm manager. NETWORK is an ID, a
 * name or a unique ID prefix (this host's networks are looked up first). Flags are checked before
 * anything is sent.
 */
import { Command } from 'commander';
import { ErrorCode, TsswarmError, isTsswarmError } from '../../lib/errors.js';
import type { ControlClient } from '../control-client.js';
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

/** The swarm's networks, or none when this node cannot list them (outside a swarm, or a worker). */
async function swarmNetworks(control: ControlClient): Promise<Network[]> {
  try {
    return await control.listNetworks();
  } catch (err) {
    if (isTsswarmError(err, ErrorCode.NOT_IN_SWARM)) return [];
    throw err;
  }
}

/** This host's bridge networks and the swarm's networks. */
async function allNetworks(control: ControlClient): Promise<Network[]> {
  return [...(await control.listLocalNetworks()), ...(await swarmNetworks(control))];
}

/** The network `ref` names among `networks`, or undefined when none does. */
function findNetwork(view: View, networks: readonly Network[], ref: string): Network | undefined {
  try {
    return view.resolveNetwork(networks, ref);
  } catch (err) {
    if (isTsswarmError(err, ErrorCode.NOT_FOUND)) return undefined;
    throw err;
  }
}

function createCommand(): Command {
  return new Command('create')
    .description("Create an overlay network for services, or (-d bridge) a network of this host's own")
    .option('-d, --driver <driver>', "overlay (the swarm's, the default) or bridge (this host's own)", 'overlay')
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
      const network = await withControl(cmd, async (control) => {
        if (spec.driver?.name !== view.bridgeDriver) return control.createNetwork(spec);
        if ((await swarmNetworks(control)).some((n) => n.spec?.annotations?.name === name)) {
          throw new TsswarmError(ErrorCode.ALREADY_EXISTS, `network with name ${name} already exists (a swarm network)`);
        }
        return control.createLocalNetwork(spec);
      });
      process.stdout.write(`${network.id}\n`);
    });
}

function lsCommand(): Command {
  return new Command('ls')
    .alias('list')
    .description("List this host's bridge networks and the swarm's networks")
    .option('-q, --quiet', 'only IDs')
    .option('--no-trunc', 'do not shorten IDs')
    .option('-f, --filter <key=value>', 'id, name, label, driver or scope (repeatable)', collect)
    .option('--format <format>', "table, json or a template such as '{{.ID}} {{.Name}}'")
    .action(async (flags: { quiet?: boolean; trunc: boolean; filter?: string[]; format?: string }, cmd: Command) => {
      const view = await loadView();
      const choice = parseOutput(flags.format);
      const filter = view.parseNetworkFilters(flags.filter ?? []);
      const networks = view.sortNetworks(view.filterNetworks(await withControl(cmd, allNetworks), filter));
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
      const networks = await withControl(cmd, allNetworks);
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
        const local = await control.listLocalNetworks();
        let swarm: Network[] | undefined;
        await eachRef(refs, async (ref) => {
          const mine = findNetwork(view, local, ref);
          if (mine !== undefined) await control.removeLocalNetwork(mine.id);
          else await control.removeNetwork(view.resolveNetwork((swarm ??= await control.listNetworks()), ref).id);
          process.stdout.write(`${ref}\n`);
        });
      });
    });
}

/** The `network` command group. */
export function networkCommand(): Command {
  const group = new Command('network').description("Manage the swarm's overlay networks (on a manager) and this host's bridge networks").enablePositionalOptions();
  group.addCommand(createCommand());
  group.addCommand(lsCommand());
  group.addCommand(inspectCommand());
  group.addCommand(rmCommand());
  return group;
}
