import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../helpers/cli.js';

const unit = readFileSync(join(repoRoot, 'deploy', 'systemd', 'tsswarmd.service'), 'utf8');

function value(key: string): string | undefined {
  return new RegExp(`^${key}=(.*)$`, 'm').exec(unit)?.[1];
}

t.test('the unit starts the installed daemon and never takes containers down with it', async (t) => {
  t.equal(value('ExecStart')?.split(' ')[0], '/usr/local/bin/tsswarmd', 'the binary setup.sh links');
  t.equal(value('KillMode'), 'process', 'stopping the service leaves conmon and its containers alone');
  t.equal(value('Delegate'), 'yes');
  t.equal(value('Restart'), 'on-failure');
  t.match(unit, /^\[Install\]\nWantedBy=multi-user\.target$/m);
});
