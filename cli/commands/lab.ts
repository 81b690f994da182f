/**
 * `tsswarm lab`: build, list, enter and remove netns labs (clusters of hosts on one machine).
 */
import { Command } from 'commander';
import { TsswarmError, ErrorCode } from '../../lib/errors.js';
import { labDown, labDownAll, labExec, labKillHost, labList, labStartHost, labUp, parseHostCount, validateLabName } from '../../deploy/lab/index.js';
import { parseFormat, renderJson, renderTable } from '../output.js';

/** The `lab` command group. */
export function labCommand(): Command {
  const lab = new Command('lab')
    .description('Build a cluster of hosts on this machine from network namespaces')
    .enablePositionalOptions();

  lab
    .command('up')
    .description('Create a lab of N hosts joined by a private switch')
    .argument('<name>', 'lab name (lowercase letters, digits, -)')
    .requiredOption('--hosts <n>', 'number of hosts')
    .option('--managers <m>', 'how many hosts are managers (h1..hM; default 1)')
    .option('--registry', 'run a registry on h1:5000 that the hosts pull from (plain HTTP, lab only)')
    .option('--no-daemons', 'do not start tsswarmd on the hosts')
    .option('-q, --quiet', 'print only the lab name')
    .action(async (name: string, opts: { hosts: string; managers?: string; registry?: boolean; daemons: boolean; quiet?: boolean }) => {
      validateLabName(name);
      const hosts = parseHostCount(opts.hosts);
      const managers = opts.managers === undefined ? undefined : parseManagerCount(opts.managers);
      const record = await labUp({ name, hosts, daemons: opts.daemons, registry: opts.registry === true, ...(managers !== undefined ? { managers } : {}) });
      if (opts.quiet) {
        process.stdout.write(`${record.name}\n`);
        return;
      }
      process.stdout.write(`lab ${record.name}: ${record.hosts.length} hosts on ${record.subnet}\n`);
      process.stdout.write(renderTable(['HOST', 'ADDRESS', 'NAMESPACE'], record.hosts.map((h) => [h.name, h.address, h.netns])));
      if (opts.registry === true) process.stdout.write(`registry: ${record.hosts[0]?.address}:5000 (plain HTTP, reachable from the lab hosts)\n`);
      if (record.daemons) {
        process.stdout.write(`swarm: h1 initialized it; ${managers ?? 1} manager(s). Run commands on a host with:\n  tsswarm lab exec ${record.name} h1 -- tsswarm node ls\n`);
      }
    });

  lab
    .command('ls')
    .description('List labs with their hosts and addresses')
    .option('--format <format>', 'table or json')
    .option('-q, --quiet', 'print only lab names')
    .action(async (opts: { format?: string; quiet?: boolean }) => {
      const format = parseFormat(opts.format);
      const labs = await labList();
      if (opts.quiet) {
        process.stdout.write(labs.map((l) => `${l.record.name}\n`).join(''));
        return;
      }
      if (format === 'json') {
        process.stdout.write(renderJson(labs.map((l) => ({ ...l.record, healthy: l.healthy }))));
        return;
      }
      const rows = labs.flatMap((l) =>
        l.record.hosts.map((h) => [l.record.name, h.name, h.address, h.netns, l.healthy ? l.record.state : 'broken']),
      );
      process.stdout.write(renderTable(['LAB', 'HOST', 'ADDRESS', 'NAMESPACE', 'STATE'], rows));
    });

  lab
    .command('exec')
    .description('Run a command inside a lab host')
    .argument('<name>', 'lab name')
    .argument('<host>', 'host name (h1, h2, ...) or address')
    .argument('[command...]', 'command and arguments, after --')
    .passThroughOptions()
    .action(async (name: string, host: string, command: string[]) => {
      process.exitCode = await labExec(name, host, command[0] === '--' ? command.slice(1) : command);
    });

  lab
    .command('kill')
    .description('Power loss on a host: kill its daemon, conmon and containers (its data stays)')
    .argument('<name>', 'lab name')
    .argument('<host>', 'host name (h1, h2, ...) or address')
    .action(async (name: string, host: string) => {
      const n = await labKillHost(name, host);
      process.stdout.write(`killed ${host} (${n} processes)\n`);
    });

  lab
    .command('start')
    .description('Start the daemon of a host again (after lab kill)')
    .argument('<name>', 'lab name')
    .argument('<host>', 'host name (h1, h2, ...) or address')
    .action(async (name: string, host: string) => {
      await labStartHost(name, host);
      process.stdout.write(`started tsswarmd on ${host}\n`);
    });

  lab
    .command('down')
    .description('Remove a lab and everything it made')
    .argument('[name]', 'lab name')
    .option('--all', 'remove every lab and stray tss-* namespace')
    .action(async (name: string | undefined, opts: { all?: boolean }) => {
      if (opts.all === true && name !== undefined) {
        throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, 'give a lab name or --all, not both');
      }
      if (opts.all === true) {
        const reports = await labDownAll();
        for (const r of reports) process.stdout.write(`removed ${r.name} (${r.namespaces} namespaces, ${r.processes} processes)\n`);
        return;
      }
      if (name === undefined) throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, 'lab down needs a lab name or --all');
      const r = await labDown(name);
      process.stdout.write(
        `removed ${r.name} (${r.namespaces} namespaces, ${r.processes} processes, ${r.mounts} mounts, ${r.cgroups} cgroups)\n`,
      );
    });

  return lab;
}

function parseManagerCount(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isInteger(n) || n < 1) throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, `--managers must be a positive integer, got ${JSON.stringify(text)}`);
  return n;
}
