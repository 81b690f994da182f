/**
 * The CLI on a lab's hosts, for the service integration tests: run `tsswarm` against a host's
 * daemon, and read a service's tasks as `service ps` shows them.
 */
import { hostSocket, type LabHost, type LabRecord } from '../../deploy/lab/index.js';
import { tsswarmWith, type CliResult } from './cli.js';

/** One task as `service ps --no-trunc` shows it; states lower-cased, the history mark removed. */
export interface TaskRow {
  readonly id: string;
  readonly name: string;
  readonly image: string;
  readonly node: string;
  readonly desired: string;
  readonly current: string;
  readonly error: string;
}

/** The CLI on the hosts of a lab. */
export interface LabCli {
  host(name: string): LabHost;
  /** `tsswarm ...args` against host `name`'s daemon. */
  on(name: string, ...args: string[]): Promise<CliResult>;
  /** The tasks of `service`, asked on host `from` (h1 by default). */
  tasks(service: string, from?: string): Promise<TaskRow[]>;
}

/** The CLI of the lab `record()` returns (read per call: the record is made in the test's before hook). */
export function labCli(record: () => LabRecord): LabCli {
  const host = (name: string): LabHost => {
    const found = record().hosts.find((h) => h.name === name);
    if (found === undefined) throw new Error(`no host ${name} in lab ${record().name}`);
    return found;
  };
  const on = (name: string, ...args: string[]): Promise<CliResult> => tsswarmWith({ env: { TSSWARM_HOST: `unix://${hostSocket(host(name))}` } }, ...args);
  const tasks = async (service: string, from = 'h1'): Promise<TaskRow[]> => {
    const r = await on(from, 'service', 'ps', service, '--no-trunc', '--format', '{{.ID}}|{{.Name}}|{{.Image}}|{{.Node}}|{{.DesiredState}}|{{.CurrentState}}|{{.Error}}');
    if (r.code !== 0) throw new Error(`service ps failed: ${r.stderr}`);
    return r.stdout
      .trim()
      .split('\n')
      .filter((l) => l !== '')
      .map((line) => {
        const [id = '', name = '', image = '', node = '', desired = '', current = '', ...error] = line.split('|');
        return { id, name: name.replace(/^[\\_ ]+/, ''), image, node, desired: desired.toLowerCase(), current: current.toLowerCase(), error: error.join('|') };
      });
  };
  return { host, on, tasks };
}

/** The tasks that run and should. */
export function runningTasks(rows: readonly TaskRow[]): TaskRow[] {
  return rows.filter((r) => r.desired === 'running' && r.current.startsWith('running'));
}
