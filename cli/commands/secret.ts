/**
 * `tsswarm secret ...` (and, built by the same factory, `tsswarm config ...`): the swarm's secrets
 * and configs through the Control service of the local tsswarmd (a manager), as docker's commands
 * of the same names. `create NAME FILE|-` reads the data (at most 500 KiB) and checks name and
 * labels before anything is sent; `inspect` never shows a secret's value (tsswarmd never sends
 * it); `rm` is refused while a service uses the object. Also `resolveSecretReferences`, which
 * `service create|update` use to turn `--secret` / `--config` names into IDs.
 */
import { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { invalidArgument } from '../../lib/errors.js';
import type { ServiceSpec } from '../../proto/index.js';
import { collect } from '../container-flags.js';
import type { ControlClient } from '../control-client.js';
import { parseOutput, renderDocuments, renderTemplateRows } from '../format-template.js';
import { renderJson } from '../output.js';
import type { SecretKind, SecretLike } from '../secret-view.js';
import { eachRef } from './network.js';
import { withControl } from './swarm.js';

type View = typeof import('../secret-view.js');

/** The view module, loaded only when a secret or config command runs. */
function loadView(): Promise<View> {
  return import('../secret-view.js');
}

/** Most bytes read from FILE or standard input: one more than allowed, so that too much is noticed. */
const maxReadBytes = 500 * 1024 + 1;

/** The data of `create NAME FILE|-`: a file, or standard input for `-`. */
async function readData(kind: SecretKind, source: string): Promise<Uint8Array> {
  if (source === '-') {
    const parts: Buffer[] = [];
    let total = 0;
    for await (const chunk of process.stdin) {
      const b = chunk as Buffer;
      parts.push(b);
      total += b.length;
      if (total >= maxReadBytes) break;
    }
    return new Uint8Array(Buffer.concat(parts));
  }
  try {
    return new Uint8Array(await readFile(source));
  } catch (err) {
    throw invalidArgument(`cannot read the ${kind} data from ${source}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
}

function list(control: ControlClient, kind: SecretKind): Promise<SecretLike[]> {
  return kind === 'secret' ? control.listSecrets() : control.listConfigs();
}

function createCommand(kind: SecretKind): Command {
  return new Command('create')
    .description(`Create a ${kind} from a file or standard input`)
    .option('-l, --label <key=value>', `${kind} label (repeatable)`, collect)
    .argument('<name>', `${kind} name`)
    .argument('<file>', 'file to read the data from, or - for standard input')
    .action(async (name: string, file: string, flags: { label?: string[] }, cmd: Command) => {
      const view = await loadView();
      // Name and labels first: a bad one is refused before the data is read.
      view.secretSpec(kind, name, new Uint8Array(1), flags.label ?? []);
      const spec = view.secretSpec(kind, name, await readData(kind, file), flags.label ?? []);
      const created = await withControl(cmd, (control) => (kind === 'secret' ? control.createSecret(spec) : control.createConfig(spec)));
      process.stdout.write(`${created.id}\n`);
    });
}

function lsCommand(kind: SecretKind): Command {
  return new Command('ls')
    .alias('list')
    .description(`List the ${kind}s of the swarm`)
    .option('-q, --quiet', 'only IDs')
    .option('-f, --filter <key=value>', 'id, name or label (repeatable)', collect)
    .option('--format <format>', "table, json or a template such as '{{.ID}} {{.Name}}'")
    .action(async (flags: { quiet?: boolean; filter?: string[]; format?: string }, cmd: Command) => {
      const view = await loadView();
      const choice = parseOutput(flags.format);
      const filter = view.parseSecretFilters(flags.filter ?? []);
      const objects = view.sortSecrets(view.filterSecrets(await withControl(cmd, (control) => list(control, kind)), filter));
      const now = Date.now();
      const rows = objects.map((o) => view.secretRow(o, now));
      if (flags.quiet) process.stdout.write(rows.map((r) => `${r.ID}\n`).join(''));
      else if (choice.kind === 'json') process.stdout.write(renderJson(objects.map((o) => view.secretDocument(kind, o))));
      else if (choice.kind === 'template') process.stdout.write(renderTemplateRows(choice.template, rows));
      else process.stdout.write(view.secretTable(rows));
    });
}

function inspectCommand(kind: SecretKind): Command {
  return new Command('inspect')
    .description(`Show details of ${kind}s (JSON, --pretty or a --format template)${kind === 'secret' ? '; never the value' : ''}`)
    .option('-f, --format <format>', "json or a template such as '{{.Spec.Name}}'")
    .option('--pretty', 'human-readable text')
    .argument(`<${kind}...>`, 'name, ID or ID prefix')
    .action(async (refs: string[], flags: { format?: string; pretty?: boolean }, cmd: Command) => {
      const view = await loadView();
      if (flags.pretty && flags.format !== undefined) throw invalidArgument('--format and --pretty cannot be combined');
      const choice = parseOutput(flags.format);
      const objects = await withControl(cmd, (control) => list(control, kind));
      const found: SecretLike[] = [];
      const failure = await eachRef(refs, async (ref) => {
        found.push(view.resolveSecretLike(kind, objects, ref));
      }).catch((err: unknown) => err);
      if (found.length > 0) {
        if (flags.pretty) process.stdout.write(found.map((o) => view.secretPretty(kind, o)).join('\n'));
        else process.stdout.write(renderDocuments(choice, found.map((o) => view.secretDocument(kind, o))));
      }
      if (failure !== undefined) throw failure;
    });
}

function rmCommand(kind: SecretKind): Command {
  return new Command('rm')
    .alias('remove')
    .description(`Remove ${kind}s (not while services use them)`)
    .argument(`<${kind}...>`, 'name, ID or ID prefix')
    .action(async (refs: string[], _flags: unknown, cmd: Command) => {
      const view = await loadView();
      await withControl(cmd, async (control) => {
        const objects = await list(control, kind);
        await eachRef(refs, async (ref) => {
          const id = view.resolveSecretLike(kind, objects, ref).id;
          await (kind === 'secret' ? control.removeSecret(id) : control.removeConfig(id));
          process.stdout.write(`${ref}\n`);
        });
      });
    });
}

/** The `secret` or `config` command group. */
export function secretLikeCommand(kind: SecretKind): Command {
  const what = kind === 'secret' ? 'secrets (mounted in tasks from memory, never stored in plain text)' : 'configs (non-secret files mounted in tasks)';
  const group = new Command(kind).description(`Manage the swarm's ${what} (run on a manager)`).enablePositionalOptions();
  group.addCommand(createCommand(kind));
  group.addCommand(lsCommand(kind));
  group.addCommand(inspectCommand(kind));
  group.addCommand(rmCommand(kind));
  return group;
}

/** The `secret` command group. */
export function secretCommand(): Command {
  return secretLikeCommand('secret');
}

/**
 * `spec` with the secret and config references that name their object by name only (as `--secret`
 * / `--config` make them) given the object's ID; references that carry an ID are kept. NOT_FOUND
 * "secret X not found" before anything is sent.
 */
export async function resolveSecretReferences(control: ControlClient, spec: ServiceSpec): Promise<ServiceSpec> {
  const container = spec.task?.container;
  if (container === undefined || spec.task === undefined) return spec;
  const needSecrets = container.secrets.some((r) => r.secretId === '');
  const needConfigs = container.configs.some((r) => r.configId === '');
  if (!needSecrets && !needConfigs) return spec;
  const view = await loadView();
  const secrets = needSecrets ? await control.listSecrets() : [];
  const configs = needConfigs ? await control.listConfigs() : [];
  const secretRefs = container.secrets.map((r) => {
    if (r.secretId !== '') return r;
    const s = view.resolveSecretLike('secret', secrets, r.secretName);
    return { ...r, secretId: s.id, secretName: s.spec?.annotations?.name ?? r.secretName };
  });
  const configRefs = container.configs.map((r) => {
    if (r.configId !== '') return r;
    const c = view.resolveSecretLike('config', configs, r.configName);
    return { ...r, configId: c.id, configName: c.spec?.annotations?.name ?? r.configName };
  });
  return { ...spec, task: { ...spec.task, container: { ...container, secrets: secretRefs, configs: configRefs } } };
}
