#!/usr/bin/env node
/**
 * `tsswarm`: the command-line client. Each command group lives in cli/commands/.
 */
import { Command } from 'commander';
import { configCommand } from './commands/config.js';
import { containerCommand, containerShortcuts } from './commands/container.js';
import { imageCommand, loginCommand, logoutCommand } from './commands/image.js';
import { infoCommand } from './commands/info.js';
import { labCommand } from './commands/lab.js';
import { networkCommand } from './commands/network.js';
import { nodeCommand } from './commands/node.js';
import { secretCommand } from './commands/secret.js';
import { serviceCommand } from './commands/service.js';
import { stackCommand } from './commands/stack.js';
import { swarmCommand } from './commands/swarm.js';
import { volumeCommand } from './commands/volume.js';
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
  .addCommand(volumeCommand())

  .addCommand(secretCommand())
  .addCommand(configCommand())
  .addCommand(stackCommand())
  .addCommand(infoCommand());
for (const shortcut of containerShortcuts()) program.addCommand(shortcut);

await runProgram(program, process.argv);
