#!/usr/bin/env node
/**
 * `tsswarm`: the command-line client. Each command group lives in cli/commands/.
 */
import { Command } from 'commander';
import { containerCommand, containerShortcuts } from './commands/container.js';
import { imageCommand, loginCommand, logoutCommand } from './commands/image.js';
import { infoCommand } from './commands/info.js';
import { labCommand } from './commands/lab.js';
import { networkCommand } from './commands/network.js';
import { nodeCommand } from './commands/node.js';
import { serviceCommand } from './commands/service.js';
import { swarmCommand } from './commands/swarm.js';
import { runProgram } from './run.js';
import { version } from './version.js';

const program = new Command('tsswarm')
  .description('Swarm-style cluster orchestrator')
  .version(version, '-v, --version')
  .option('-H, --host <unix:///path>', 'tsswarmd control socket (default: TSSWARM_HOST or unix:///run/tsswarm/tsswarmd.sock)')
  .enablePositionalOptions()
  .addCommand(containerCommand())
  .addCommand(labCommand())
  .addCommand(imageCommand())
  .addCommand(loginCommand())
  .addCommand(logoutCommand())
  .addCommand(swarmCommand())
  .addCommand(nodeCommand())
  .addCommand(serviceCommand())
  .addCommand(networkCommand())
  .addCommand(infoCommand());
for (const shortcut of containerShortcuts()) program.addCommand(shortcut);

await runProgram(program, process.argv);
