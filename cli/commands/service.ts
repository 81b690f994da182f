/**
 * `tsswarm service ...`: the services of the swarm, through the Control service of the local
 * tsswarmd (a manager), as `docker service` does. SERVICE is an ID, a name or a unique ID prefix.
 * Flags are checked before anything is sent; updates carry the version they read. Without
 * `--detach`, create/update/scale/rollback show the tasks converging (cli/service-progress.ts).
 */
import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { ErrorCode, TsswarmError, invalidArgument } from '../../lib/errors.js';
import type { NetworkAttachmentConfig, Service, ServiceSpec } from '../../proto/index.js';
import type { ControlClient } from '../control-client.js';
import { collect } from '../container-flags.js';
import { parseOutput, renderDocuments } from '../format-template.js';
import type { CreateFlags, FlagContext, UpdateFlags } from '../service-flags.js';
import { addHealthFlags } from '../health-flags.js';
import { eachRef } from './network.js';
import { resolveSecretReferences } from './secret.js';
import { withControl } from './swarm.js';
import { serviceLogsCommand } from './service-logs.js';

/** How often the progress display asks the manager for the service's tasks. */
export const progressPollIntervalMs = 500;
/** Longest the progress display waits for a service to converge before it gives up (the service goes on). */
export const maxConvergeWaitMs = 3 * 60_000;

type Flags = typeof import('../service-flags.js');
type View = typeof import('../service-view.js');

async function load(): Promise<{ flags: Flags; view: View }> {
  const [flags, view] = await Promise.all([import('../service-flags.js'), import('../service-view.js')]);
  return { flags, view };
}

function flagContext(): FlagContext {
  return { env: process.env, readFile: (path) => readFileSync(path, 'utf8') };
}

/** The flags `create` and `update` share. */
function addCommonFlags(cmd: Command): Command {
  return addHealthFlags(cmd)
    .option('--replicas <n>', 'number of tasks (replicated), or completions (replicated-job)')
    .option('--max-concurrent <n>', 'job tasks run at once (replicated-job; default --replicas)')
    .option('--hostname <name>', 'container host name')
    .option('-w, --workdir <dir>', 'working directory in the container')
    .option('-u, --user <user>', 'user[:group] to run as')
    .option('--limit-memory <bytes>', 'memory limit (e.g. 64m)')
    .option('--limit-cpu <cpus>', 'CPU limit (e.g. 0.5)')
    .option('--limit-pids <n>', 'most processes in the container (0: no limit)')
    .option('--reserve-memory <bytes>', 'memory set aside for each task')
    .option('--reserve-cpu <cpus>', 'CPUs set aside for each task')
    .option('--restart-condition <cond>', 'none, on-failure or any')
    .option('--restart-delay <duration>', 'wait between restarts (default 5s)')
    .option('--restart-max-attempts <n>', 'restarts before giving up (0: no limit)')
    .option('--restart-window <duration>', 'window the attempts are counted over')
    .option('--replicas-max-per-node <n>', 'most tasks of the service per node (0: no limit)')
    .option('--endpoint-mode <mode>', 'vip or dnsrr')
    .option('--stop-signal <signal>', 'signal that stops the container')
    .option('--stop-grace-period <duration>', 'wait after the stop signal before SIGKILL')
    .option('--update-parallelism <n>', 'tasks updated at once (0: all; default 1)')
    .option('--update-delay <duration>', 'wait between update batches')
    .option('--update-order <order>', 'stop-first or start-first')
    .option('--update-failure-action <action>', 'pause, continue or rollback')
    .option('--update-monitor <duration>', 'watch each updated task this long for failure (default 5s)')
    .option('--update-max-failure-ratio <ratio>', 'failure rate tolerated during an update (0 to 1)')
    .option('--rollback-parallelism <n>', 'tasks rolled back at once (0: all; default 1)')
    .option('--rollback-delay <duration>', 'wait between rollback batches')
    .option('--rollback-order <order>', 'stop-first or start-first')
    .option('--rollback-failure-action <action>', 'pause or continue')
    .option('--rollback-monitor <duration>', 'watch each rolled-back task this long for failure (default 5s)')
    .option('--rollback-max-failure-ratio <ratio>', 'failure rate tolerated during a rollback (0 to 1)')
    .option('--rebalance [mode]', 'move tasks to nodes that join or come back: on, off or default (the cluster setting); bare: on')
    .option('-d, --detach', 'return at once instead of waiting for the service to converge')
    .option('-q, --quiet', 'no progress output');
}

/** Network references in `attachments` replaced by network IDs (docker resolves them in the CLI). */
/**
 * Pins `image` to the digest its registry serves now, as docker does at create and update; prints
 * the daemon's warning when no registry answered and keeps the reference as given.
 */
async function pinImage(control: ControlClient, image: string): Promise<string> {
  if (image.includes('@')) return image;
  const resolved = await control.resolveImage(image);
  if (resolved.warning !== '') process.stderr.write(`warning: ${resolved.warning}\n`);
  return resolved.image || image;
}

async function resolveNetworks(control: ControlClient, attachments: readonly NetworkAttachmentConfig[]): Promise<NetworkAttachmentConfig[]> {
  if (attachments.length === 0) return [];
  const { resolveNetwork } = await import('../network-view.js');
  const networks = await control.listNetworks();
  return attachments.map((a) => ({ ...a, target: resolveNetwork(networks, a.target).id }));
}

function sleepUnless(ms: number, signal: { wake?: () => void }): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.wake = () => {
      clearTimeout(timer);
      resolve();
    };
  });
}

/**
 * Shows the service converging until it has (or an update pauses, or {@link maxConvergeWaitMs}
 * passes). Redraws in a terminal, prints changed lines otherwise; Ctrl-C leaves it running.
 */
async function waitForService(control: ControlClient, serviceId: string, ref: string, quiet: boolean): Promise<void> {
  const progress = await import('../service-progress.js');
  const tty = process.stdout.isTTY === true;
  const out = (text: string): void => {
    if (!quiet) process.stdout.write(text);
  };
  const shown = new Map<string, string>();
  let drawn = 0;
  let lastBlock = '';
  let state = progress.initialProgress;
  let interrupted = false;
  const waker: { wake?: () => void } = {};
  const onSigint = (): void => {
    interrupted = true;
    waker.wake?.();
  };
  process.on('SIGINT', onSigint);
  const started = Date.now();
  try {
    for (;;) {
      const [service, tasks] = await Promise.all([control.getService(serviceId), control.listTasks({ serviceIds: [serviceId] })]);
      if (interrupted) break;
      const frame = progress.progressFrame(service, tasks, Date.now(), state);
      state = frame.state;
      if (tty) {
        const block = frame.lines.map((l) => `${l.text}\n`).join('');
        if (block !== lastBlock) out(`${drawn > 0 ? `\x1b[${drawn}A\x1b[J` : ''}${block}`);
        lastBlock = block;
        drawn = frame.lines.length;
      } else {
        out(progress.changedLines(frame, shown).map((l) => `${l}\n`).join(''));
      }
      if (frame.error !== undefined) throw new TsswarmError(ErrorCode.CONFLICT, `service ${ref}: ${frame.error}`);
      if (frame.done) return;
      if (Date.now() - started > maxConvergeWaitMs) {
        throw new TsswarmError(
          ErrorCode.TIMEOUT,
          `service ${ref} has not converged after ${maxConvergeWaitMs / 60_000} minutes; the change goes on in the background (see: tsswarm service ps ${ref})`,
        );
      }
      await sleepUnless(progressPollIntervalMs, waker);
      if (interrupted) break;
    }
    out(`Operation continuing in background.\nUse \`tsswarm service ps --no-trunc ${ref}\` to check progress.\n`);
  } finally {
    process.off('SIGINT', onSigint);
  }
}

function createCommand(): Command {
  return addCommonFlags(
    new Command('create')
      .description('Create a service')
      .option('--name <name>', 'service name')
      .option('--mode <mode>', 'replicated, global, replicated-job or global-job', 'replicated')
      .option('-e, --env <NAME=value>', 'environment variable (repeatable)', collect)
      .option('--env-file <path>', 'read environment variables from a file (repeatable)', collect)
      .option('-l, --label <key=value>', 'service label (repeatable)', collect)
      .option('--container-label <key=value>', 'container label (repeatable)', collect)
      .option('--mount <spec>', 'type=bind|volume|tmpfs,source=..,target=..[,readonly][,volume-nocopy] (repeatable)', collect)

      .option('--constraint <expr>', 'placement constraint, e.g. node.role==manager (repeatable)', collect)
      .option('--placement-pref <pref>', 'placement preference, e.g. spread=node.labels.zone (repeatable)', collect)
      .option('--network <network>', 'network to attach (name, or name=..,alias=..) (repeatable)', collect)
      .option('-p, --publish <spec>', 'publish a port: 8080:80[/udp] or published=8080,target=80,mode=host (repeatable)', collect)
      .option('--init', 'run an init process in each container')
      .option('--read-only', "mount the container's root filesystem read-only")
      .option('--entrypoint <command>', "replace the image's entrypoint (split as a shell would)")
      .option('--group <group>', 'extra group for the container process (repeatable)', collect)
      .option('--cap-add <cap>', 'add a Linux capability (repeatable)', collect)
      .option('--cap-drop <cap>', 'drop a Linux capability (repeatable)', collect)
      .option('--sysctl <name=value>', 'namespaced kernel parameter (repeatable)', collect)
      .option('--secret <secret>', 'expose a secret: NAME or source=NAME,target=..,uid=..,gid=..,mode=0400 (repeatable)', collect)
      .option('--config <config>', 'expose a config: NAME or source=NAME,target=/PATH,uid=..,gid=..,mode=0444 (repeatable)', collect)
      .option('-t, --tty', 'allocate a pseudo-TTY'),
  )
    .argument('<image>', 'image to run')
    .argument('[command...]', 'command and arguments')
    .passThroughOptions()
    .action(async (image: string, command: string[], flags: CreateFlags & { detach?: boolean; quiet?: boolean }, cmd: Command) => {
      const { flags: f } = await load();
      const spec = f.createSpec(image, command, flags, flagContext());
      await withControl(cmd, async (control) => {
        const withRefs = await resolveSecretReferences(control, spec);
        const networks = await resolveNetworks(control, withRefs.task?.networks ?? []);
        const container = withRefs.task?.container;
        const pinned = container ? { ...container, image: await pinImage(control, container.image) } : container;
        const service = await control.createService({ ...withRefs, task: { ...withRefs.task, networks, ...(pinned ? { container: pinned } : {}) } });
        process.stdout.write(`${service.id}\n`);
        if (!flags.detach) await waitForService(control, service.id, spec.annotations?.name || service.id, flags.quiet === true);
      });
    });
}

function lsCommand(): Command {
  return new Command('ls')
    .alias('list')
    .description('List the services of the swarm')
    .option('-q, --quiet', 'only IDs')
    .option('-f, --filter <key=value>', 'id, name, label or mode (repeatable)', collect)
    .option('--format <format>', "table, json or a template such as '{{.Name}} {{.Replicas}}'")
    .action(async (flags: { quiet?: boolean; filter?: string[]; format?: string }, cmd: Command) => {
      const { view } = await load();
      const choice = parseOutput(flags.format);
      const filter = view.parseServiceFilters(flags.filter ?? []);
      const { services, tasks, nodes } = await withControl(cmd, async (control) => {
        const [services, tasks, nodes] = await Promise.all([control.listServices(), control.listTasks({}), control.listNodes()]);
        return { services, tasks, nodes };
      });
      const { writeServices } = await import('../service-listing.js');
      writeServices(view.filterServices(services, filter), tasks, nodes, flags.quiet === true, choice);
    });
}

function psCommand(): Command {
  return new Command('ps')
    .description('List the tasks of services')
    .option('-q, --quiet', 'only task IDs')
    .option('--no-trunc', 'do not shorten IDs, images and errors')
    .option('--no-resolve', 'show node and service IDs instead of names')
    .option('-f, --filter <key=value>', 'id, name, node or desired-state (repeatable)', collect)
    .option('--format <format>', "table, json or a template such as '{{.Name}} {{.CurrentState}}'")
    .argument('<service...>', 'name, ID or ID prefix')
    .action(async (refs: string[], flags: { quiet?: boolean; trunc: boolean; resolve: boolean; filter?: string[]; format?: string }, cmd: Command) => {
      const { view } = await load();
      const choice = parseOutput(flags.format);
      const filter = view.parseTaskFilters(flags.filter ?? []);
      const { services, tasks, nodes } = await withControl(cmd, async (control) => {
        const all = await control.listServices();
        const chosen: Service[] = [];
        await eachRef(refs, async (ref) => {
          chosen.push(view.resolveService(all, ref));
        });
        const ids = [...new Set(chosen.map((s) => s.id))];
        const [tasks, nodes] = await Promise.all([control.listTasks({ serviceIds: ids }), control.listNodes()]);
        return { services: chosen, tasks: tasks.filter((t) => ids.includes(t.serviceId)), nodes };
      });
      const { writeServiceTasks } = await import('../service-listing.js');
      writeServiceTasks(services, tasks, nodes, flags, filter, choice);
    });
}

function inspectCommand(): Command {
  return new Command('inspect')
    .description('Show details of services (JSON, --pretty, or --format template)')
    .option('--pretty', 'human-readable text')
    .option('-f, --format <format>', "json or a template such as '{{.Spec.Name}}'")
    .argument('<service...>', 'name, ID or ID prefix')
    .action(async (refs: string[], flags: { pretty?: boolean; format?: string }, cmd: Command) => {
      if (flags.pretty && flags.format !== undefined) throw invalidArgument('--pretty and --format cannot be used together');
      const { view } = await load();
      const choice = parseOutput(flags.format);
      const { found, failure, networkNames } = await withControl(cmd, async (control) => {
        const all = await control.listServices();
        const found: Service[] = [];
        const failure = await eachRef(refs, async (ref) => {
          found.push(view.resolveService(all, ref));
        }).catch((err: unknown) => err);
        const networkNames = new Map<string, string>();
        if (flags.pretty && found.some((s) => (s.spec?.task?.networks.length ?? 0) > 0)) {
          for (const n of await control.listNetworks()) networkNames.set(n.id, n.spec?.annotations?.name ?? n.id);
        }
        return { found, failure, networkNames };
      });
      if (found.length > 0) {
        process.stdout.write(flags.pretty ? found.map((s) => view.prettyService(s, networkNames)).join('\n') : renderDocuments(choice, found.map(view.serviceDocument)));
      }
      if (failure !== undefined) throw failure;
    });
}

function scaleCommand(): Command {
  return new Command('scale')
    .description('Change the number of tasks of replicated services (SERVICE=REPLICAS ...)')
    .option('-d, --detach', 'return at once instead of waiting for the services to converge')
    .argument('<service=replicas...>', 'e.g. web=3')
    .action(async (args: string[], flags: { detach?: boolean }, cmd: Command) => {
      const { flags: f, view } = await load();
      const pairs = f.parseScaleArgs(args);
      await withControl(cmd, async (control) => {
        const all = await control.listServices();
        const scaled: [string, string][] = [];
        const failure = await eachRef(
          pairs.map(([ref]) => ref),
          async (ref) => {
            const n = pairs.find(([r]) => r === ref)?.[1] ?? 0;
            const service = await control.getService(view.resolveService(all, ref).id);
            const spec = service.spec;
            let next: ServiceSpec;
            if (spec?.replicated) next = { ...spec, replicated: { replicas: n } };
            else if (spec?.replicatedJob) next = { ...spec, replicatedJob: { ...spec.replicatedJob, totalCompletions: n } };
            else throw invalidArgument(`${ref}: scale can only be used with replicated or replicated-job mode`);
            await control.updateService({ serviceId: service.id, serviceVersion: service.meta?.version ?? { index: 0 }, spec: next });
            process.stdout.write(`${ref} scaled to ${n}\n`);
            scaled.push([service.id, ref]);
          },
        ).catch((err: unknown) => err);
        if (!flags.detach) for (const [id, ref] of scaled) await waitForService(control, id, ref, false);
        if (failure !== undefined) throw failure;
      });
    });
}

function updateCommand(): Command {
  return addCommonFlags(
    new Command('update')
      .description('Change a service (a rolling update of its tasks)')
      .option('--image <image>', 'new image')
      .option('--args <command>', 'new command arguments (one string, split as a shell would)')
      .option('--env-add <NAME=value>', 'add or change an environment variable (repeatable)', collect)
      .option('--env-rm <NAME>', 'remove an environment variable (repeatable)', collect)
      .option('--label-add <key=value>', 'add or change a service label (repeatable)', collect)
      .option('--label-rm <key>', 'remove a service label (repeatable)', collect)
      .option('--container-label-add <key=value>', 'add or change a container label (repeatable)', collect)
      .option('--container-label-rm <key>', 'remove a container label (repeatable)', collect)
      .option('--mount-add <spec>', 'add or replace a mount (repeatable)', collect)
      .option('--mount-rm <target>', 'remove the mount at a target path (repeatable)', collect)
      .option('--constraint-add <expr>', 'add a placement constraint (repeatable)', collect)
      .option('--constraint-rm <expr>', 'remove a placement constraint (repeatable)', collect)
      .option('--placement-pref-add <pref>', 'add a placement preference (repeatable)', collect)
      .option('--placement-pref-rm <pref>', 'remove a placement preference (repeatable)', collect)
      .option('--network-add <network>', 'attach a network (repeatable)', collect)
      .option('--network-rm <network>', 'detach a network (repeatable)', collect)
      .option('--publish-add <spec>', 'publish a port (repeatable)', collect)
      .option('--publish-rm <port>', 'unpublish a target port, e.g. 80 or 80/udp (repeatable)', collect)
      .option('--group-add <group>', 'add an extra group for the container process (repeatable)', collect)
      .option('--group-rm <group>', 'remove an extra group (repeatable)', collect)
      .option('--sysctl-add <name=value>', 'add or change a namespaced kernel parameter (repeatable)', collect)
      .option('--sysctl-rm <name>', 'remove a kernel parameter (repeatable)', collect)
      .option('--cap-add <cap>', 'add a Linux capability (repeatable)', collect)
      .option('--cap-drop <cap>', 'drop a Linux capability (repeatable)', collect)
      .option('--secret-add <secret>', 'add or replace a secret (NAME or source=NAME,target=..,...) (repeatable)', collect)
      .option('--secret-rm <secret>', 'remove a secret by name or ID (repeatable)', collect)
      .option('--config-add <config>', 'add or replace a config (NAME or source=NAME,target=..,...) (repeatable)', collect)
      .option('--config-rm <config>', 'remove a config by name or ID (repeatable)', collect)
      .option('--init [bool]', 'run an init process in each container (true or false)')
      .option('--read-only [bool]', "mount the container's root filesystem read-only (true or false)")
      .option('--force', 'redeploy the tasks even if nothing changed')
      .option('--rollback', 'go back to the previous spec'),
  )
    .argument('<service>', 'name, ID or ID prefix')
    .action(async (ref: string, flags: UpdateFlags & { detach?: boolean; quiet?: boolean }, cmd: Command) => {
      const { flags: f, view } = await load();
      const ctx = flagContext();
      const { detach, quiet, ...change } = flags;
      // Everything the flags alone can get wrong is refused before any request.
      f.updatedSpec(f.blankSpec(), change, ctx, { syntaxOnly: true });
      await withControl(cmd, async (control) => {
        const service = await control.getService(view.resolveService(await control.listServices(), ref).id);
        const version = service.meta?.version ?? { index: 0 };
        if (change.rollback) {
          if (!service.previousSpec) throw new TsswarmError(ErrorCode.CONFLICT, `service ${ref} has no previous spec to roll back to`);
          await control.updateService({ serviceId: service.id, serviceVersion: version, rollback: (await import('../../proto/index.js')).ServiceRollback.PREVIOUS });
        } else {
          const networkRm = change.networkRm?.length ? await resolveNetworks(control, change.networkRm.map((target) => ({ target, aliases: [], addresses: [], driverAttachmentOpts: {} }))) : [];
          const spec = await resolveSecretReferences(control, f.updatedSpec(service.spec ?? f.blankSpec(), { ...change, networkRm: networkRm.map((n) => n.target) }, ctx));
          const added = new Set((change.networkAdd ?? []).length > 0 ? spec.task?.networks.slice(-(change.networkAdd ?? []).length) : []);
          const networks = await Promise.all(
            (spec.task?.networks ?? []).map(async (n) => (added.has(n) ? ((await resolveNetworks(control, [n]))[0] ?? n) : n)),
          );
          const container = spec.task?.container;
          const pinned = container && flags.image !== undefined ? { ...container, image: await pinImage(control, container.image) } : container;
          await control.updateService({ serviceId: service.id, serviceVersion: version, spec: { ...spec, task: { ...spec.task, networks, ...(pinned ? { container: pinned } : {}) } } });
        }
        process.stdout.write(`${ref}\n`);
        if (!detach) await waitForService(control, service.id, ref, quiet === true);
      });
    });
}

function rollbackCommand(): Command {
  return new Command('rollback')
    .description("Go back to a service's previous spec")
    .option('-d, --detach', 'return at once instead of waiting for the service to converge')
    .option('-q, --quiet', 'no progress output')
    .argument('<service>', 'name, ID or ID prefix')
    .action(async (ref: string, flags: { detach?: boolean; quiet?: boolean }, cmd: Command) => {
      const { view } = await load();
      const { ServiceRollback } = await import('../../proto/index.js');
      await withControl(cmd, async (control) => {
        const service = await control.getService(view.resolveService(await control.listServices(), ref).id);
        if (!service.previousSpec) throw new TsswarmError(ErrorCode.CONFLICT, `service ${ref} has no previous spec to roll back to`);
        await control.updateService({ serviceId: service.id, serviceVersion: service.meta?.version ?? { index: 0 }, rollback: ServiceRollback.PREVIOUS });
        process.stdout.write(`${ref}\n`);
        if (!flags.detach) await waitForService(control, service.id, ref, flags.quiet === true);
      });
    });
}

function rmCommand(): Command {
  return new Command('rm')
    .alias('remove')
    .description('Remove services (their tasks are shut down)')
    .argument('<service...>', 'name, ID or ID prefix')
    .action(async (refs: string[], _flags: unknown, cmd: Command) => {
      const { view } = await load();
      await withControl(cmd, async (control) => {
        const all = await control.listServices();
        await eachRef(refs, async (ref) => {
          await control.removeService(view.resolveService(all, ref).id);
          process.stdout.write(`${ref}\n`);
        });
      });
    });
}

/** The `service` command group. */
export function serviceCommand(): Command {
  const group = new Command('service').description('Manage the services of the swarm (run on a manager)').enablePositionalOptions();
  group.addCommand(createCommand());
  group.addCommand(lsCommand());
  group.addCommand(psCommand());
  group.addCommand(inspectCommand());
  group.addCommand(serviceLogsCommand());
  group.addCommand(scaleCommand());
  group.addCommand(updateCommand());
  group.addCommand(rollbackCommand());
  group.addCommand(rmCommand());
  return group;
}
