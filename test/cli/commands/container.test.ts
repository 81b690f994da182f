/**
 * `tsswarm container ...` against a real tsswarmd, as a user would type it.
 */
import t from 'tap';
import { testDaemon } from '../../helpers/daemon.js';
import { startRegistry } from '../../worker/images/registry-helper.js';

// One daemon for the file (it takes seconds to build and load the image); tests use their own names.
const d = await testDaemon(t);

t.test('run --rm busybox echo hi prints hi and leaves no container', async (t) => {
  const r = await d.cli('container', 'run', '--rm', 'busybox', 'echo', 'hi');
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, 'hi\n');
  t.notMatch((await d.cli('ps', '-a')).stdout, /echo hi/, 'the container was removed');
});

t.test('inside: PID 1, only the container processes, its own hostname; exit codes pass through', async (t) => {
  const r = await d.cli('run', '--name', 'probe', '--hostname', 'probe-host', 'busybox', 'sh', '-c', 'ps -o pid,args; hostname; exit 4');
  t.equal(r.code, 4, 'run exits with the container exit code');
  const lines = r.stdout.trim().split('\n');
  t.match(lines[1] ?? '', /^\s*1 sh -c/);
  t.equal(lines.filter((l) => /^\s*\d+ /.test(l)).length, 2, 'only sh and ps');
  t.equal(lines[lines.length - 1], 'probe-host');
  const ps = await d.cli('ps', '-a');
  t.match(ps.stdout, /CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+NAMES/);
  t.match(ps.stdout, /busybox\s+"sh -c ps -o pid,arg…"\s+.* ago\s+Exited \(4\) .* ago\s+probe/);
});

t.test('-m 32m: a memory hog is killed with 137 and inspect says OOMKilled', async (t) => {
  const r = await d.cli('run', '--name', 'hog', '-m', '32m', 'busybox', 'sh', '-c', 'x=0123456789abcdef; while true; do x=$x$x; done');
  t.equal(r.code, 137);
  const inspect = JSON.parse((await d.cli('container', 'inspect', 'hog')).stdout) as { State: { OOMKilled: boolean; ExitCode: number }; HostConfig: { Memory: number } }[];
  t.equal(inspect[0]?.State.OOMKilled, true);
  t.equal(inspect[0]?.State.ExitCode, 137);
  t.equal(inspect[0]?.HostConfig.Memory, 32 * 1024 * 1024);
});

t.test('a -d container and its logs survive kill -9 and restart of tsswarmd', async (t) => {
  const run = await d.cli('run', '-d', '--name', 'ticker', 'busybox', 'sh', '-c', 'for i in $(seq 1 40); do echo line $i; sleep 0.1; done; sleep 300');
  t.equal(run.code, 0, run.stderr);
  t.match(run.stdout, /^[0-9a-z]{25}\n$/, 'prints the container ID');
  await new Promise((r) => setTimeout(r, 500));
  await d.kill();
  t.not((await d.cli('ps')).code, 0, 'the CLI says when the daemon is down');
  await new Promise((r) => setTimeout(r, 1_500));
  await d.restart();
  await new Promise((r) => setTimeout(r, 2_500));
  const ps = await d.cli('ps');
  t.match(ps.stdout, /Up .* ticker/, 'still running after the daemon came back');
  const logs = await d.cli('logs', '-t', 'ticker');
  const lines = logs.stdout.trim().split('\n');
  t.same(
    lines.map((l) => l.replace(/^\S+ /, '')),
    Array.from({ length: 40 }, (_, i) => `line ${i + 1}`),
    'every line, none lost, in order',
  );
  t.ok(lines.every((l) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d+/.test(l)), 'each with its timestamp');
  const tail = await d.cli('logs', '--tail', '2', 'ticker');
  t.equal(tail.stdout, 'line 39\nline 40\n');
});

t.test('exec runs in the container, passes exit codes and stdin', async (t) => {
  t.equal((await d.cli('run', '-d', '--name', 'box', 'busybox', 'sleep', '300')).code, 0);
  const e = await d.cli('exec', 'box', 'sh', '-c', 'echo from exec; hostname; exit 3');
  t.equal(e.code, 3);
  t.match(e.stdout, /^from exec\n/);
  const cat = await d.cliInput('piped in\n', 'exec', '-i', 'box', 'cat');
  t.equal(cat.stdout, 'piped in\n');
  const top = await d.cli('container', 'top', 'box');
  t.match(top.stdout, /PID\s+USER\s+COMMAND\n\d+\s+root\s+sleep 300/);
  const stats = await d.cli('container', 'stats', '--no-stream', 'box');
  t.match(stats.stdout, /box\s+\d+\.\d+%\s+\S+ \/ unlimited\s+1/);
});

t.test('bad input: a clear line and a non-zero exit, nothing left half-made', async (t) => {
  t.equal((await d.cli('run', '-d', '--name', 'keep', 'busybox', 'sleep', '300')).code, 0);
  const cases: [string[], number, RegExp][] = [
    [['run', '--rm', '-m', '12XB', 'busybox', 'true'], 2, /invalid --memory "12XB"/],
    [['run', '--rm', 'nosuchimage', 'true'], 2, /unable to find image "nosuchimage" locally/],
    [['run', '--rm', 'busybox', 'nope'], 127, /executable "nope" not found in the image/],
    [['run', '--name', 'keep', 'busybox', 'true'], 2, /name "keep" is already in use/],
    [['run', '--name', 'bad name', 'busybox', 'true'], 2, /invalid container name/],
    [['run', '--cpus', 'lots', 'busybox', 'true'], 2, /invalid --cpus/],
    [['run', '-v', './relative:/x', 'busybox', 'true'], 2, /"\.\/relative" is not a valid volume name/],
    [['container', 'rm', 'keep'], 2, /cannot remove container keep: it is running/],
    [['container', 'stop', 'ghost'], 2, /no such container: ghost/],
    [['logs', '--tail', 'some', 'keep'], 2, /--tail must be a number/],
    [['image', 'rm', '--data-dir', d.dataDir, 'busybox'], 2, /is used by container .*keep/],
  ];
  for (const [args, code, message] of cases) {
    const r = await d.cli(...args);
    t.equal(r.code, code, `${args.join(' ')} exits ${code}`);
    t.match(r.stderr, message, `${args.join(' ')}: ${r.stderr.trim()}`);
    t.equal(r.stderr.trim().split('\n').length, 1, 'one line');
  }
  const before = (await d.cli('ps', '-a', '-q')).stdout;
  const ps = await d.cli('ps', '-a');
  t.match(ps.stdout, /Up .* keep/, 'the running container still runs');
  t.notMatch(ps.stdout, /nosuchimage|"nope"|bad name/, 'no refused container was made');
  t.equal((await d.cli('container', 'rm', '-f', 'keep')).code, 0);
  t.equal((await d.cli('ps', '-a', '-q')).stdout.split('\n').length, before.split('\n').length - 1, 'rm -f removed it');
});

t.test('an image pushed to a registry, removed, pulled back by digest, runs', async (t) => {
  const registry = await startRegistry(t);
  const host = registry.host;
  const ref = `${host}/tests/busybox:1`;
  const image = (...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => d.cli('image', ...args.slice(0, 1), '--data-dir', d.dataDir, ...args.slice(1));
  const tag = await image('tag', 'busybox', ref);
  t.equal(tag.code, 0, tag.stderr);
  const push = await image('push', '--insecure-registry', host, ref);
  t.equal(push.code, 0, push.stderr);
  const digest = /sha256:[0-9a-f]{64}/.exec(push.stdout)?.[0] ?? '';
  t.match(digest, /^sha256:/, 'push prints the manifest digest');
  t.equal((await image('rm', ref)).code, 0);
  const pull = await image('pull', '--insecure-registry', host, `${host}/tests/busybox@${digest}`);
  t.equal(pull.code, 0, pull.stderr);
  const run = await d.cli('run', '--rm', `${host}/tests/busybox@${digest}`, 'echo', 'pulled and ran');
  t.equal(run.code, 0, run.stderr);
  t.equal(run.stdout, 'pulled and ran\n');
});
