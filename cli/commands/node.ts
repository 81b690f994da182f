/**
 * `tsswarm node ...`: the nodes of the swarm, through the Control service of the local tsswarmd
 * (a manager), as `docker node` does. NODE is an ID, a unique ID prefix, a host name or `self`.
 * Flags are checked before anything is sent; updates carry the version they read.
 */
import { Command } from 'commander';
import { TsswarmError, invalidArgument } from '../../lib/errors.js';
import type { Node } from '../../proto/index.js';
import type { ControlClient } from '../control-client.js';
import { collect } from '../container-flags.js';
import { parseOutput, renderDocuments, renderTemplateRows } from '../format-template.js';
import { renderJson } from '../output.js';
import { withControl } from './swarm.js';

type View = typeof import('../node-view.js');

/** The node view module, loaded only when a node command runs. */
function loadView(): Promise<View> {
  return import('../node-view.js');
}

/** Every node and the ID of the node the CLI talks to (for `*` and `self`). */
async function nodesAndSelf(control: ControlClient): Promise<{ nodes: Node[]; selfId: string }> {
  const [nodes, info] = await Promise.all([control.listNodes(), control.info()]);
  return { nodes, selfId: info.nodeId };
}

/** Runs `fn` on each reference, reporting each failure; fails (with every message) when any did. */
async function eachRef(refs: readonly string[], fn: (ref: string) => Promise<void>): Promise<void> {
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

function lsCommand(): Command {
  return new Command('ls')
    .alias('list')
    .description('List the nodes of the swarm')
    .option('-q, --quiet', 'only IDs')
    .option('-f, --filter <key=value>', 'id, name, label, node.label, role or membership (repeatable)', collect)
    .option('--format <format>', "table, json or a template such as '{{.ID}} {{.Hostname}}'")
    .action(async (flags: { quiet?: boolean; filter?: string[]; format?: string }, cmd: Command) => {
      const view = await loadView();
      const choice = parseOutput(flags.format);
      const filter = view.parseNodeFilters(flags.filter ?? []);
      const { nodes, selfId } = await withControl(cmd, nodesAndSelf);
      const shown = view.sortNodes(view.filterNodes(nodes, filter));
      const rows = shown.map((n) => view.nodeRow(n, selfId));
      if (flags.quiet) process.stdout.write(shown.map((n) => `${n.id}\n`).join(''));
      else if (choice.kind === 'json') process.stdout.write(renderJson(shown.map(view.nodeDocument)));
      else if (choice.kind === 'template') process.stdout.write(renderTemplateRows(choice.template, rows));
      else process.stdout.write(view.nodeTable(rows));
    });
}

function inspectCommand(): Command {
  return new Command('inspect')
    .description('Show details of nodes (JSON, --pretty, or --format template)')
    .option('--pretty', 'human-readable text')
    .option('--format <format>', "json or a template such as '{{.Spec.Role}}'")
    .argument('<node...>', "ID, ID prefix, host name, or 'self'")
    .action(async (refs: string[], flags: { pretty?: boolean; format?: string }, cmd: Command) => {
      if (flags.pretty && flags.format !== undefined) throw invalidArgument('--pretty and --format cannot be used together');
      const view = await loadView();
      const choice = parseOutput(flags.format);
      const { nodes, selfId } = await withControl(cmd, nodesAndSelf);
      const found: Node[] = [];
      const failure = await eachRef(refs, async (ref) => {
        found.push(view.resolveNode(nodes, ref, selfId));
      }).catch((err: unknown) => err);
      if (found.length > 0) {
        process.stdout.write(flags.pretty ? found.map(view.prettyNode).join('\n') : renderDocuments(choice, found.map(view.nodeDocument)));
      }
      if (failure !== undefined) throw failure;
    });
}

function updateCommand(): Command {
  return new Command('update')
    .description('Change a node: availability, role, labels')
    .option('--availability <availability>', 'active, pause or drain')
    .option('--role <role>', 'worker or manager')
    .option('--label-add <key=value>', 'add or change a label (repeatable; key alone for an empty value)', collect)
    .option('--label-rm <key>', 'remove a label (repeatable)', collect)
    .argument('<node>', "ID, ID prefix, host name, or 'self'")
    .action(async (ref: string, flags: { availability?: string; role?: string; labelAdd?: string[]; labelRm?: string[] }, cmd: Command) => {
      const view = await loadView();
      const change = {
        ...(flags.availability !== undefined ? { availability: view.parseAvailability(flags.availability) } : {}),
        ...(flags.role !== undefined ? { role: view.parseRole(flags.role) } : {}),
        labelAdd: view.parseLabelAdds(flags.labelAdd ?? []),
        labelRm: view.parseLabelRms(flags.labelRm ?? []),
      };
      if (change.availability === undefined && change.role === undefined && change.labelAdd.length === 0 && change.labelRm.length === 0) {
        throw invalidArgument('nothing to update: give --availability, --role, --label-add or --label-rm');
      }
      await withControl(cmd, async (control) => {
        const { nodes, selfId } = await nodesAndSelf(control);
        const node = await control.getNode(view.resolveNode(nodes, ref, selfId).id);
        const spec = view.changedSpec(node.spec, change);
        await control.updateNode({ nodeId: node.id, nodeVersion: node.meta?.version ?? { index: 0 }, spec });
      });
      process.stdout.write(`${ref}\n`);
    });
}

/** `node promote` and `node demote`: set the desired role, with docker's messages. */
function roleCommand(name: 'promote' | 'demote'): Command {
  const manager = name === 'promote';
  return new Command(name)
    .description(manager ? 'Make workers managers' : 'Make managers workers')
    .argument('<node...>', "ID, ID prefix, host name, or 'self'")
    .action(async (refs: string[], _flags: unknown, cmd: Command) => {
      const view = await loadView();
      const role = view.roleNames[manager ? 'manager' : 'worker'];
      await withControl(cmd, async (control) => {
        const { nodes, selfId } = await nodesAndSelf(control);
        await eachRef(refs, async (ref) => {
          const node = await control.getNode(view.resolveNode(nodes, ref, selfId).id);
          if (node.spec?.role === role) {
            process.stdout.write(`Node ${ref} is already a ${manager ? 'manager' : 'worker'}.\n`);
            return;
          }
          const spec = view.changedSpec(node.spec, { role, labelAdd: [], labelRm: [] });
          await control.updateNode({ nodeId: node.id, nodeVersion: node.meta?.version ?? { index: 0 }, spec });
          process.stdout.write(manager ? `Node ${ref} promoted to a manager in the swarm.\n` : `Manager ${ref} demoted in the swarm.\n`);
        });
      });
    });
}

function rmCommand(): Command {
  return new Command('rm')
    .alias('remove')
    .description('Remove nodes from the swarm (a node that is not down needs --force)')
    .option('-f, --force', 'remove even a node that is not down')
    .argument('<node...>', 'ID, ID prefix or host name')
    .action(async (refs: string[], flags: { force?: boolean }, cmd: Command) => {
      const view = await loadView();
      await withControl(cmd, async (control) => {
        const { nodes, selfId } = await nodesAndSelf(control);
        await eachRef(refs, async (ref) => {
          await control.removeNode(view.resolveNode(nodes, ref, selfId).id, flags.force === true);
          process.stdout.write(`${ref}\n`);
        });
      });
    });
}

function psCommand(): Command {
  return new Command('ps')
    .description("List the tasks on nodes (default: 'self', the node the CLI talks to)")
    .option('-q, --quiet', 'only task IDs')
    .option('--no-trunc', 'do not shorten IDs, images and errors')
    .option('--format <format>', "table, json or a template such as '{{.Name}} {{.CurrentState}}'")
    .argument('[node...]', "ID, ID prefix, host name, or 'self'")
    .action(async (refs: string[], flags: { quiet?: boolean; trunc: boolean; format?: string }, cmd: Command) => {
      const view = await loadView();
      const choice = parseOutput(flags.format);
      const { tasks, nodes } = await withControl(cmd, async (control) => {
        const { nodes: all, selfId } = await nodesAndSelf(control);
        const chosen: Node[] = [];
        await eachRef(refs.length > 0 ? refs : [view.selfRef], async (ref) => {
          chosen.push(view.resolveNode(all, ref, selfId));
        });
        const ids = new Set(chosen.map((n) => n.id));
        const listed = await control.listTasks({ nodeIds: [...ids] });
        return { tasks: listed.filter((t) => ids.has(t.nodeId)), nodes: all };
      });
      const hostnames = new Map(nodes.map((n) => [n.id, view.hostnameOf(n)]));
      const rows = view.taskRows(tasks, hostnames, Date.now(), !flags.trunc);
      if (flags.quiet) process.stdout.write(rows.map((r) => `${r.ID}\n`).join(''));
      else if (choice.kind === 'json') process.stdout.write(renderJson(view.taskRows(tasks, hostnames, Date.now(), true)));
      else if (choice.kind === 'template') process.stdout.write(renderTemplateRows(choice.template, rows));
      else process.stdout.write(view.taskTable(rows));
    });
}

/** The `node` command group. */
export function nodeCommand(): Command {
  const group = new Command('node').description('Manage the nodes of the swarm (run on a manager)').enablePositionalOptions();
  group.addCommand(lsCommand());
  group.addCommand(inspectCommand());
  group.addCommand(updateCommand());
  group.addCommand(roleCommand('promote'));
  group.addCommand(roleCommand('demote'));
  group.addCommand(rmCommand());
  group.addCommand(psCommand());
  return group;
}
