#!/usr/bin/env node
/**
 * `tsswarmd`: the per-host daemon (manager, worker and netd roles). The flags are fixed by
 * DESIGN.md; the roles themselves arrive with the cluster issue, so for now it validates its flags
 * and refuses to start with a clear message rather than pretending to run.
 */
import { Command } from 'commander';
import { ErrorCode, TsswarmError } from '../lib/errors.js';
import { runProgram } from './run.js';
import { version } from './version.js';

const program = new Command('tsswarmd')
  .description('tsswarm daemon: one per host')
  .version(version, '-v, --version')
  .requiredOption('--data-dir <dir>', 'state directory')
  .option('--listen-addr <ip:port>', 'manager gRPC address', '0.0.0.0:2377')
  .option('--advertise-addr <ip>', 'address other nodes use to reach this one')
  .option('--hostname <name>', 'node name shown by `node ls`')
  .action(() => {
    throw new TsswarmError(ErrorCode.UNSUPPORTED, 'the daemon roles are not built yet (cluster issue); nothing was started');
  });

await runProgram(program, process.argv);
