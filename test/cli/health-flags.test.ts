/**
 * The `--health-*` / `--no-healthcheck` flags (pure): what `run`, `service create` and `service
 * update` send, docker's update semantics, bad input, and the `ps` status suffix.
 */
import t from 'tap';
import { Command } from 'commander';
import { createRequest } from '../../cli/container-flags.js';
import { healthSuffix } from '../../cli/container-view.js';
import { addHealthFlags, healthConfigFromFlags, updatedHealthConfig, type HealthFlags } from '../../cli/health-flags.js';
import { blankSpec, createSpec, updatedSpec, type FlagContext } from '../../cli/service-flags.js';

const ctx: FlagContext = { env: {}, readFile: () => '' };

/** The flags commander collects for `args` (so --no-healthcheck behaves as on the command line). */
function parsed(...args: string[]): HealthFlags {
  const cmd = addHealthFlags(new Command('x')).exitOverride();
  cmd.parse(args, { from: 'user' });
  return cmd.opts<HealthFlags>();
}

t.test('no flag: no config (the image decides); --no-healthcheck: NONE', async (t) => {
  t.equal(healthConfigFromFlags(parsed()), undefined);
  t.same(healthConfigFromFlags(parsed('--no-healthcheck')), { test: ['NONE'], retries: 0 });
});

t.test('--health-* build a CMD-SHELL check; fields not given stay 0', async (t) => {
  const h = healthConfigFromFlags(parsed('--health-cmd', 'curl -f localhost || exit 1', '--health-interval', '1m30s', '--health-timeout', '250ms', '--health-retries', '5', '--health-start-period', '10s', '--health-start-interval', '2s'));
  t.same(h, {
    test: ['CMD-SHELL', 'curl -f localhost || exit 1'],
    retries: 5,
    interval: { seconds: 90, nanos: 0 },
    timeout: { seconds: 0, nanos: 250_000_000 },
    startPeriod: { seconds: 10, nanos: 0 },
    startInterval: { seconds: 2, nanos: 0 },
  });
  t.same(healthConfigFromFlags(parsed('--health-interval', '5s')), { test: [], retries: 0, interval: { seconds: 5, nanos: 0 } }, "timing alone keeps the image's test");
});

t.test('bad input names the flag', async (t) => {
  t.throws(() => healthConfigFromFlags(parsed('--no-healthcheck', '--health-cmd', 'true')), /--no-healthcheck conflicts with --health-\* options/);
  t.throws(() => healthConfigFromFlags(parsed('--health-interval', '10x')), /--health-interval: invalid duration "10x"/);
  t.throws(() => healthConfigFromFlags(parsed('--health-timeout', '500us')), /--health-timeout: "500us" is too short/);
  t.throws(() => healthConfigFromFlags(parsed('--health-retries', '-1')), /--health-retries: invalid value "-1"/);
  t.throws(() => healthConfigFromFlags(parsed('--health-retries', 'many')), /--health-retries/);
});

t.test('container run sends the config in the create request', async (t) => {
  const req = createRequest('busybox', ['sleep', '1'], { ...parsed('--health-cmd', 'true', '--health-interval', '200ms') }, {});
  t.same(req.healthcheck, { test: ['CMD-SHELL', 'true'], retries: 0, interval: { seconds: 0, nanos: 200_000_000 } });
  t.equal(createRequest('busybox', [], parsed(), {}).healthcheck, undefined);
});

t.test('service create and update: docker semantics', async (t) => {
  const spec = createSpec('busybox', [], { ...parsed('--health-cmd', 'test -f /ok', '--health-retries', '2') }, ctx);
  t.same(spec.task?.container?.healthcheck, { test: ['CMD-SHELL', 'test -f /ok'], retries: 2 });
  t.equal(createSpec('busybox', [], {}, ctx).task?.container?.healthcheck, undefined);

  const interval = updatedSpec(spec, parsed('--health-interval', '3s'), ctx);
  t.same(interval.task?.container?.healthcheck, { test: ['CMD-SHELL', 'test -f /ok'], retries: 2, interval: { seconds: 3, nanos: 0 } }, 'update changes only what is given');
  const off = updatedSpec(spec, parsed('--no-healthcheck'), ctx);
  t.same(off.task?.container?.healthcheck, { test: ['NONE'], retries: 0 });
  const on = updatedSpec(off, parsed('--health-cmd', 'true'), ctx);
  t.same(on.task?.container?.healthcheck?.test, ['CMD-SHELL', 'true'], 'a new command replaces NONE');
  const cleared = updatedHealthConfig({ test: ['CMD-SHELL', 'x'], retries: 1 }, parsed('--health-cmd', ''));
  t.same(cleared?.test, [], "an empty --health-cmd goes back to the image's check");
  t.same(updatedSpec(spec, parsed(), ctx).task?.container?.healthcheck, spec.task?.container?.healthcheck, 'no health flag: unchanged');
  t.same(updatedSpec(spec, { ...parsed(), rollback: true }, ctx), spec, '--rollback alone is not "combined with other flags"');
  t.throws(() => updatedSpec(blankSpec(), { ...parsed('--no-healthcheck'), rollback: true }, ctx), /may not be combined with --rollback/);
});

t.test('ps status suffix, as docker', async (t) => {
  t.equal(healthSuffix('starting'), ' (health: starting)');
  t.equal(healthSuffix('healthy'), ' (healthy)');
  t.equal(healthSuffix('unhealthy'), ' (unhealthy)');
  t.equal(healthSuffix(''), '');
});

t.test('service inspect shows the check: JSON in nanoseconds, --pretty in words', async (t) => {
  const { specDocument, prettyService } = await import('../../cli/service-view.js');
  const { Service } = await import('../../proto/index.js');
  const spec = createSpec('busybox', [], { ...parsed('--health-cmd', 'test -f /ok', '--health-interval', '2s', '--health-retries', '4') }, ctx);
  const doc = specDocument(spec) as { TaskTemplate: { ContainerSpec: { Healthcheck?: unknown } } };
  t.same(doc.TaskTemplate.ContainerSpec.Healthcheck, { Test: ['CMD-SHELL', 'test -f /ok'], Interval: 2e9, Retries: 4 });
  const pretty = prettyService(Service.create({ id: 's1', spec }), new Map());
  t.match(pretty, / Healthcheck:\n {2}Test:\t\ttest -f \/ok\n {2}Interval:\t2s\n {2}Retries:\t4\n/);
  const off = prettyService(Service.create({ id: 's1', spec: updatedSpec(spec, parsed('--no-healthcheck'), ctx) }), new Map());
  t.match(off, / Healthcheck:\tnone\n/);
});
