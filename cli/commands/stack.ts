/**
 * `tsswarm stack ...`: applications from compose files, as `docker stack` does. `deploy` reads and
 * checks every file completely (YAML, variables, types, references, externals) before the first
 * change; a redeploy updates only the services whose spec changed. `rm` removes what carries the
 * stack's namespace label, nothing else. The loader and the plan live in cli/stack/.
 */
import { Command } from 'commander';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { invalidArgument } from '../../lib/errors.js';
import type { Service } from '../../proto/index.js';
import { collect } from '../container-flags.js';
import { parseOutput, renderTemplateRows } from '../format-template.js';
import { renderJson } from '../output.js';
import { withControl } from './swarm.js';

type Stack = typeof import('../stack/index.js');
type View = typeof import('../service-view.js');

async function load(): Promise<{ stack: Stack; view: View }> {
  const [stack, view] = await Promise.all([import('../stack/index.js'), import('../service-view.js')]);
  return { stack, view };
}

function readText(path: string, what: string): string {
  try {
    return readFileSync(path === '-' ? 0 : path, 'utf8');
  } catch (err) {
    throw invalidArgument(`cannot read ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

const stdout = { line: (text: string): void => void process.stdout.write(`${text}\n`), warn: (text: string): void => void process.stderr.write(`${text}\n`) };

function deployCommand(): Command {
  return new Command('deploy')
    .alias('up')
    .description('Deploy a new stack or update an existing one from compose files')
    .requiredOption('-c, --compose-file <file>', 'compose file (repeatable: later files override earlier ones; - for stdin)', collect)
    .option('--prune', 'remove services of the stack that the files no longer have')
    .option('-d, --detach', 'return once the changes are sent (the default: deploy does not wait for convergence)')
    .option('--resolve-image <when>', 'pin images to registry digests: always or changed (both: at create and when the image changes), or never', 'always')
    .argument('<stack>', 'stack name')
    .action(async (name: string, flags: { composeFile: string[]; prune?: boolean; detach?: boolean; resolveImage: string }, cmd: Command) => {
      const { stack } = await load();
      stack.checkStackName(name);
      if (flags.resolveImage !== 'always' && flags.resolveImage !== 'never' && flags.resolveImage !== 'changed') {
        throw invalidArgument(`--resolve-image: invalid value ${JSON.stringify(flags.resolveImage)}: use always, changed or never`);
      }
      const [first = '-'] = flags.composeFile;
      const projectDir = first === '-' ? process.cwd() : dirname(resolve(first));
      const sources = flags.composeFile.map((file) => ({ file, text: readText(file, 'compose file') }));
      const dotEnvPath = join(projectDir, '.env');
      const dotEnv = existsSync(dotEnvPath) ? { file: '.env', text: readText(dotEnvPath, 'env file') } : undefined;
      const loaded = stack.loadProject({
        sources,
        projectDir,
        env: process.env,
        ...(dotEnv !== undefined ? { dotEnv } : {}),
        readFile: (path) => readFileSync(path),
      });
      const desired = stack.convertProject(name, loaded.project);
      const warning = stack.ignoredKeysWarning(loaded.ignored);
      if (warning !== undefined) process.stderr.write(`${warning}\n`);
      await withControl(cmd, (control) => stack.deployStack(control, desired, { prune: flags.prune === true, pinImages: flags.resolveImage !== 'never' }, stdout));
    });
}

function lsCommand(): Command {
  return new Command('ls')
    .alias('list')
    .description('List the stacks (NAME SERVICES)')
    .option('--format <format>', "table, json or a template such as '{{.Name}}'")
    .action(async (flags: { format?: string }, cmd: Command) => {
      const { stack } = await load();
      const choice = parseOutput(flags.format);
      const rows = stack.stackRows(await withControl(cmd, (control) => control.listServices()));
      if (choice.kind === 'json') process.stdout.write(renderJson(rows));
      else if (choice.kind === 'template') process.stdout.write(renderTemplateRows(choice.template, rows));
      else process.stdout.write(stack.stackTable(rows));
    });
}

function nothingFound(name: string): void {
  process.stderr.write(`Nothing found in stack: ${name}\n`);
}

function servicesCommand(): Command {
  return new Command('services')
    .description('List the services of a stack')
    .option('-q, --quiet', 'only IDs')
    .option('--format <format>', "table, json or a template such as '{{.Name}} {{.Replicas}}'")
    .argument('<stack>', 'stack name')
    .action(async (name: string, flags: { quiet?: boolean; format?: string }, cmd: Command) => {
      const { stack, view } = await load();
      const choice = parseOutput(flags.format);
      const { services, tasks, nodes } = await withControl(cmd, async (control) => {
        const services = stack.stackMembers(await control.listServices(), name);
        if (services.length === 0) return { services, tasks: [], nodes: [] };
        const [tasks, nodes] = await Promise.all([control.listTasks({ serviceIds: services.map((s) => s.id) }), control.listNodes()]);
        return { services, tasks, nodes };
      });
      if (services.length === 0) return nothingFound(name);
      const { writeServices } = await import('../service-listing.js');
      writeServices(services, tasks, nodes, flags.quiet === true, choice);
    });
}

function psCommand(): Command {
  return new Command('ps')
    .description('List the tasks of a stack')
    .option('-q, --quiet', 'only task IDs')
    .option('--no-trunc', 'do not shorten IDs, images and errors')
    .option('--no-resolve', 'show node and service IDs instead of names')
    .option('-f, --filter <key=value>', 'id, name, node or desired-state (repeatable)', collect)
    .option('--format <format>', "table, json or a template such as '{{.Name}} {{.CurrentState}}'")
    .argument('<stack>', 'stack name')
    .action(async (name: string, flags: { quiet?: boolean; trunc: boolean; resolve: boolean; filter?: string[]; format?: string }, cmd: Command) => {
      const { stack, view } = await load();
      const choice = parseOutput(flags.format);
      const filter = view.parseTaskFilters(flags.filter ?? []);
      const { services, tasks, nodes } = await withControl(cmd, async (control) => {
        const services: Service[] = stack.stackMembers(await control.listServices(), name);
        if (services.length === 0) return { services, tasks: [], nodes: [] };
        const ids = services.map((s) => s.id);
        const [tasks, nodes] = await Promise.all([control.listTasks({ serviceIds: ids }), control.listNodes()]);
        return { services, tasks: tasks.filter((t) => ids.includes(t.serviceId)), nodes };
      });
      if (services.length === 0) return nothingFound(name);
      const { writeServiceTasks } = await import('../service-listing.js');
      writeServiceTasks(services, tasks, nodes, flags, filter, choice);
    });
}

function rmCommand(): Command {
  return new Command('rm')
    .alias('remove')
    .alias('down')
    .description("Remove stacks: their services, then their networks, secrets and configs")
    .argument('<stack...>', 'stack names')
    .action(async (names: string[], _flags: unknown, cmd: Command) => {
      const { stack } = await load();
      await withControl(cmd, async (control) => {
        for (const name of names) {
          const found = await stack.removeStack(control, name, stdout, (ms) => new Promise((r) => setTimeout(r, ms)));
          if (!found) nothingFound(name);
        }
      });
    });
}

/** The `stack` command group. */
export function stackCommand(): Command {
  const group = new Command('stack').description('Manage applications deployed from compose files (run on a manager)').enablePositionalOptions();
  group.addCommand(deployCommand());
  group.addCommand(lsCommand());
  group.addCommand(servicesCommand());
  group.addCommand(psCommand());
  group.addCommand(rmCommand());
  return group;
}
