/**
 * `tsswarm config create|ls|inspect|rm`: the swarm's configs, as docker's `config` commands. The
 * same commands as `secret` (secret.ts builds both), except that `inspect` shows the data.
 */
import type { Command } from 'commander';
import { secretLikeCommand } from './secret.js';

/** The `config` command group. */
export function configCommand(): Command {
  return secretLikeCommand('config');
}
