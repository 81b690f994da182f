#!/usr/bin/env node
/**
 * `tsswarm`: the command-line client. Each command group lives in cli/commands/.
 */
import { Command } from 'commander';
import { labCommand } from './commands/lab.js';
import { runProgram } from './run.js';
import { version } from './version.js';

const program = new Command('tsswarm')
  .description('Swarm-style cluster orchestrator')
  .version(version, '-v, --version')
  .enablePositionalOptions()
  .addCommand(labCommand());

await runProgram(program, process.argv);
