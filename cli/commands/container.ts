/**
 * `tsswarm container ...` (and the short forms `run`, `ps`, `logs`, `exec`): containers on the host
 * whose tsswarmd the CLI talks to, as the docker CLI does.
 */
import { Command } from 'commander';
import { ErrorCode, TsswarmError, invalidArgument } from '../../lib/errors.js';
import { sinceMs, tailCount } from '../log-flags.js';
import { timestampFromMs } from '../../proto/time.js';
import { collect, createRequest, type RunFlags } from '../container-flags.js';
import { addHealthFlags } from '../health-flags.js';
import type { EngineClient } from '../engine-client.js';
import { parseOutput, renderDocuments } from '../format-template.js';
import { humanBytes, parseFormat, renderJson, renderTable } from '../output.js';

/** The client and views, loaded only when a container command runs (gRPC takes a while to load). */
async function connect(cmd: Command): Promise<{ engine: EngineClient; view: typeof import('../container-view.js') }> {
  let root = cmd;
  while (root.parent) root = root.parent;
  const host = (root.opts() as { host?: string }).host;
  const [{ EngineClient: Client, engineAddress }, view] = await Promise.all([import('../engine-client.js'), import('../container-view.js')]);
  return { engine: new Client(engineAddress(host)), view };
}

function addRunFlags(cmd: Command): Command {
  return addHealthFlags(cmd)
    .option('--name <name>', 'container name')
    .option('-e, --env <NAME=value>', 'set an environment variable (repeatable)', collect)
    .option('-m, --memory <size>', 'memory limit (e.g. 64m)')
    .option('--cpus <n>', 'CPU limit in cores (e.g. 0.5)')
    .option('--cpu-shares <n>', 'relative CPU weight')
    .option('--pids-limit <n>', 'process limit')
    .option('-v, --volume <src:dst[:ro]>', 'a named volume (NAME:/dst), an anonymous one (/dst) or a host path (/src:/dst) (repeatable)', collect)
    .option('--mount <spec>', 'type=bind|volume|tmpfs,source=..,target=..[,readonly][,volume-nocopy][,volume-opt=k=v] (repeatable)', collect)

    .option('--read-only', 'mount the root filesystem read-only')
    .option('-w, --workdir <dir>', 'working directory')
    .option('-u, --user <user[:group]>', 'user to run as')
    .option('--hostname <name>', 'container hostname')
    .option('--entrypoint <cmd>', 'override the image entrypoint')
    .option('--stop-signal <signal>', 'signal that stops the container')
    .option('--stop-timeout <seconds>', 'grace period before SIGKILL on stop')
    .option('-l, --label <key=value>', 'label (repeatable)', collect)
    .option('--rm', 'remove the container when it exits')
    .option('--network <network>', 'join an attachable swarm network (repeatable; needs the host in a swarm)', collect)
    .option('--network-alias <alias>', 'extra DNS name of the container on its networks (repeatable)', collect)
    .option('-p, --publish <host:container[/udp]>', 'publish a port of this host to the container on its bridge network (repeatable)', collect)
    .argument('<image>', 'image to run')
    .argument('[command...]', 'command and arguments')
    .passThroughOptions();
}

async function runForeground(engine: EngineClient, view: typeof import('../container-view.js'), id: string): Promise<number> {
  const streaming = engine.logs({ id, follow: true }, (e) => view.writeEntry(e, false));
  const waiting = engine.wait(id);
  await engine.start(id);
  const [, exit] = await Promise.all([streaming, waiting]);
  return exit.exitCode;
}

/** Runs `fn` on each name, reporting each failure on one line; fails when any did. */
async function eachContainer(names: readonly string[], fn: (name: string) => Promise<void>): Promise<void> {
  const failures: TsswarmError[] = [];
  for (const name of names) {
    try {
      await fn(name);
    } catch (err) {
      if (!(err instanceof TsswarmError)) throw err;
      failures.push(err);
    }
  }
  if (failures.length === 1 && failures[0]) throw failures[0];
  if (failures.length > 1) {
    throw new TsswarmError(failures[0]?.code ?? ErrorCode.EXTERNAL, failures.map((f) => f.message).join('; '));
  }
}

function runCommand(name: string): Command {
  return addRunFlags(new Command(name).description('Create and start a container').option('-d, --detach', 'run in the background and print the ID')).action(
    async (image: string, command: string[], flags: RunFlags & { detach?: boolean }, cmd: Command) => {
      const request = createRequest(image, command, flags, process.env);
      const { engine, view } = await connect(cmd);
      const { id } = await engine.create(request);
      if (flags.detach) {
        await engine.start(id);
        process.stdout.write(`${id}\n`);
      } else {
        process.exitCode = await runForeground(engine, view, id);
      }
      engine.close();
    },
  );
}

function psCommand(name: string): Command {
  return new Command(name)
    .description('List containers')
    .option('-a, --all', 'include stopped containers')
    .option('-q, --quiet', 'only IDs')
    .option('--no-trunc', 'do not shorten IDs and commands')
    .option('--format <format>', 'table or json')
    .action(async (opts: { all?: boolean; quiet?: boolean; trunc: boolean; format?: string }, cmd: Command) => {
      const format = parseFormat(opts.format);
      const { engine, view } = await connect(cmd);
      const { containers } = await engine.list(opts.all === true);
      engine.close();
      if (opts.quiet) process.stdout.write(containers.map((c) => `${opts.trunc ? c.id.slice(0, 12) : c.id}\n`).join(''));
      else if (format === 'json') process.stdout.write(renderJson(containers));
      else process.stdout.write(view.containerTable(containers, !opts.trunc, Date.now()));
    });
}

function logsCommand(name: string): Command {
  return new Command(name)
    .description('Show the output of a container')
    .argument('<container>')
    .option('-f, --follow', 'keep streaming new output')
    .option('-t, --timestamps', 'show timestamps')
    .option('--since <time>', 'only lines since a time (RFC 3339, unix seconds) or a duration (10m)')
    .option('-n, --tail <n>', 'only the last N lines', 'all')
    .action(async (ref: string, opts: { follow?: boolean; timestamps?: boolean; since?: string; tail: string }, cmd: Command) => {
      const tail = tailCount(opts.tail);
      const since = opts.since !== undefined ? sinceMs(opts.since) : undefined;
      const { engine, view } = await connect(cmd);
      await engine.logs(
        {
          id: ref,
          follow: opts.follow === true,
          ...(since !== undefined ? { since: timestampFromMs(since), sinceSet: true } : {}),
          ...(tail !== undefined ? { tail, tailSet: true } : {}),
        },
        (e) => view.writeEntry(e, opts.timestamps === true),
      );
      engine.close();
    });
}

function execCommand(name: string): Command {
  return new Command(name)
    .description('Run a command in a running container')
    .option('-i, --interactive', 'keep stdin open')
    .option('-e, --env <NAME=value>', 'environment (repeatable)', collect)
    .option('-w, --workdir <dir>', 'working directory')
    .argument('<container>')
    .argument('<command...>')
    .passThroughOptions()
    .action(async (ref: string, command: string[], opts: { interactive?: boolean; env?: string[]; workdir?: string }, cmd: Command) => {
      const { engine } = await connect(cmd);
      const stream = engine.exec();
      const code = await new Promise<number>((resolve, reject) => {
        let exitCode = 1;
        stream.on('data', (frame: { stdout?: Uint8Array; stderr?: Uint8Array; exitCode?: number }) => {
          if (frame.stdout) process.stdout.write(frame.stdout);
          if (frame.stderr) process.stderr.write(frame.stderr);
          if (frame.exitCode !== undefined) exitCode = frame.exitCode;
        });
        stream.on('end', () => resolve(exitCode));
        stream.on('error', (err: Parameters<EngineClient['streamError']>[0]) => reject(engine.streamError(err)));
        stream.write({ start: { id: ref, cmd: command, env: opts.env ?? [], workingDir: opts.workdir ?? '', interactive: opts.interactive === true } });
        if (opts.interactive) {
          process.stdin.on('data', (d: Buffer) => stream.write({ stdin: new Uint8Array(d) }));
          process.stdin.on('end', () => {
            stream.write({ stdinClose: true });
            stream.end();
          });
        } else stream.end();
      });
      process.stdin.destroy();
      engine.close();
      process.exitCode = code;
    });
}

/** The `container` command group, plus the short forms registered at top level by the caller. */
export function containerCommand(): Command {
  const group = new Command('container').description('Manage containers on this host').enablePositionalOptions();

  group.addCommand(runCommand('run'));
  group.addCommand(
    addRunFlags(new Command('create').description('Create a container without starting it')).action(
      async (image: string, command: string[], flags: RunFlags, cmd: Command) => {
        const request = createRequest(image, command, flags, process.env);
        const { engine } = await connect(cmd);
        const { id } = await engine.create(request);
        engine.close();
        process.stdout.write(`${id}\n`);
      },
    ),
  );
  group.addCommand(psCommand('ls'));
  group.addCommand(logsCommand('logs'));
  group.addCommand(execCommand('exec'));

  group
    .command('start')
    .description('Start created containers')
    .argument('<container...>')
    .action(async (refs: string[], _opts: unknown, cmd: Command) => {
      const { engine } = await connect(cmd);
      await eachContainer(refs, async (ref) => {
        await engine.start(ref);
        process.stdout.write(`${ref}\n`);
      });
      engine.close();
    });

  group
    .command('stop')
    .description('Stop running containers (stop signal, then SIGKILL after the grace period)')
    .option('-t, --time <seconds>', 'grace period')
    .argument('<container...>')
    .action(async (refs: string[], opts: { time?: string }, cmd: Command) => {
      if (opts.time !== undefined && !/^\d+$/.test(opts.time)) throw invalidArgument(`--time must be whole seconds, got ${JSON.stringify(opts.time)}`);
      const { engine } = await connect(cmd);
      await eachContainer(refs, async (ref) => {
        await engine.stop({ id: ref, ...(opts.time !== undefined ? { timeout: { seconds: Number(opts.time), nanos: 0 }, timeoutSet: true } : {}) });
        process.stdout.write(`${ref}\n`);
      });
      engine.close();
    });

  group
    .command('rm')
    .description('Remove containers')
    .option('-f, --force', 'kill running containers first')
    .option('-v, --volumes', 'remove their anonymous volumes too')
    .argument('<container...>')
    .action(async (refs: string[], opts: { force?: boolean; volumes?: boolean }, cmd: Command) => {
      const { engine } = await connect(cmd);
      await eachContainer(refs, async (ref) => {
        await engine.remove(ref, opts.force === true, opts.volumes === true);

        process.stdout.write(`${ref}\n`);
      });
      engine.close();
    });

  group
    .command('inspect')
    .description('Show details of containers (JSON, or --format template)')
    .option('-f, --format <format>', "json or a template such as '{{.NetworkSettings.Networks.mynet.IPAddress}}'")
    .argument('<container...>')
    .action(async (refs: string[], opts: { format?: string }, cmd: Command) => {
      const choice = parseOutput(opts.format);
      const { engine } = await connect(cmd);
      const docs: unknown[] = [];
      const failure = await eachContainer(refs, async (ref) => {
        docs.push(JSON.parse((await engine.inspect(ref)).json) as unknown);
      }).catch((err: unknown) => err);
      engine.close();
      if (docs.length > 0) process.stdout.write(renderDocuments(choice, docs));
      if (failure !== undefined) throw failure;
    });

  group
    .command('wait')
    .description('Wait for containers to exit and print their exit codes')
    .argument('<container...>')
    .action(async (refs: string[], _opts: unknown, cmd: Command) => {
      const { engine } = await connect(cmd);
      await eachContainer(refs, async (ref) => {
        process.stdout.write(`${(await engine.wait(ref)).exitCode}\n`);
      });
      engine.close();
    });

  group
    .command('stats')
    .description('Resource use of running containers (one sample)')
    .option('--no-stream', 'print one sample and exit (the only mode for now)')
    .option('--format <format>', 'table or json')
    .argument('[container...]')
    .action(async (refs: string[], opts: { format?: string }, cmd: Command) => {
      const format = parseFormat(opts.format);
      const { engine } = await connect(cmd);
      const targets = refs.length > 0 ? refs : (await engine.list(false)).containers.map((c) => c.id);
      const rows: { id: string; name: string; cpu: number; mem: number; limit: number; pids: number }[] = [];
      await eachContainer(targets, async (ref) => {
        const [stats, info] = await Promise.all([engine.stats(ref), engine.inspect(ref)]);
        rows.push({ id: info.summary?.id ?? ref, name: info.summary?.name ?? ref, cpu: stats.cpuPercent, mem: stats.memoryUsageBytes, limit: stats.memoryLimitBytes, pids: stats.pidsCurrent });
      });
      engine.close();
      if (format === 'json') process.stdout.write(renderJson(rows));
      else
        process.stdout.write(
          renderTable(
            ['CONTAINER ID', 'NAME', 'CPU %', 'MEM USAGE / LIMIT', 'PIDS'],
            rows.map((r) => [r.id.slice(0, 12), r.name, `${r.cpu.toFixed(2)}%`, `${humanBytes(r.mem)} / ${r.limit > 0 ? humanBytes(r.limit) : 'unlimited'}`, String(r.pids)]),
          ),
        );
    });

  group
    .command('top')
    .description('The processes of a running container')
    .argument('<container>')
    .action(async (ref: string, _opts: unknown, cmd: Command) => {
      const { engine } = await connect(cmd);
      const { processes } = await engine.top(ref);
      engine.close();
      process.stdout.write(renderTable(['PID', 'USER', 'COMMAND'], processes.map((p) => [String(p.pid), p.user, p.command])));
    });

  return group;
}

/** The docker-style short forms: `tsswarm run|ps|logs|exec`. */
export function containerShortcuts(): Command[] {
  return [runCommand('run'), psCommand('ps'), logsCommand('logs'), execCommand('exec')];
}
