/**
 * Standalone containers on networks (`container run --network`) in a 2-host lab (h1 manager, h2
 * worker). This host's bridge networks (`network create -d bridge`): containers on one network
 * reach each other by name and alias and the other lab host through NAT, an `--internal` one
 * reaches nothing outside, two networks cannot reach each other, MTU 1500; a tsswarmd restart
 * keeps their interfaces (same devices), so do leaving the swarm (the swarm attachment goes, a new
 * container joins outside a swarm) and joining again; removing everything leaves no device or namespace; bad
 * input is refused in one line. Attachable overlays: a container on h2 reaches a service task on h1 by the service's name and
 * VIP, the task reaches the container by its name and alias, `node ps` lists the attachment;
 * the attachment of a container removed while the managers were down is given back once they are
 * up; the container keeps its network across a tsswarmd restart; removing the network is refused
 * while the container is on it; removing it removes its attachment, namespace and address (the network
 * can go then); `run --rm --network` in the foreground leaves nothing; bad input is refused in one
 * line and leaves no attachment and no container behind.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { labDown, labUp, startHostDaemon, stopHostDaemon, type LabRecord } from '../../deploy/lab/index.js';
import { eventually } from '../helpers/eventually.js';
import { labCli, runningTasks } from '../helpers/lab-services.js';
import { loadTestImage } from '../helpers/lab-image.js';

const labName = `cnet${process.pid % 100_000}`;
let record: LabRecord;
const { host, on, tasks } = labCli(() => record);

t.before(async () => {
  record = await labUp({ name: labName, hosts: 2, daemons: true, managers: 1 });
});
t.teardown(async () => {
  await labDown(labName).catch(() => undefined);
});

/** Runs `script` with sh in container `name` on host `on`; its stdout, trimmed ('' on failure). */
async function inContainer(hostName: string, name: string, script: string): Promise<string> {
  const r = await on(hostName, 'container', 'exec', name, 'sh', '-c', script);
  return r.code === 0 ? r.stdout.trim() : '';
}

/** The first line of an HTTP/1.0 GET to `target` port 80 from container `name` on `hostName`. */
function httpFrom(hostName: string, name: string, target: string): Promise<string> {
  return inContainer(hostName, name, `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 2 ${target} 80 | head -1`);
}

/** Names of every container on a host. */
async function containerNames(hostName: string): Promise<string[]> {
  const r = await on(hostName, 'container', 'ls', '-a', '--format', 'json');
  return (JSON.parse(r.stdout || '[]') as { name: string }[]).map((c) => c.name);
}

/** The first line of an HTTP/1.0 GET to `address:port` from lab host `from` itself ('' when nothing answers). */
function httpFromHost(from: string, address: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const script = `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | busybox nc -w 2 ${address} ${port} | head -1`;
    execFile('ip', ['netns', 'exec', host(from).netns, 'sh', '-c', script], { timeout: 5_000 }, (err, stdout) => resolve(err ? '' : stdout.trim()));
  });
}

/** `node ps NODE` as name|current state rows. */
async function nodeTasks(node: string): Promise<string[]> {
  const r = await on('h1', 'node', 'ps', node, '--format', '{{.Name}}|{{.CurrentState}}');
  return r.stdout.split('\n').filter((l) => l !== '');
}

/** Network namespaces of this lab's tasks and attachments on a host (`tss-LAB-hN.<task id>`). */
function taskNamespaces(hostName: string): Promise<string[]> {
  return new Promise((resolve) => {
    execFile('ip', ['netns', 'list'], { timeout: 5_000 }, (err, stdout) => {
      const prefix = `${host(hostName).netns}.`;
      resolve(err ? [] : stdout.split('\n').map((l) => l.split(' ')[0] ?? '').filter((n) => n.startsWith(prefix)));
    });
  });
}

t.test('the test image is loaded on every host', async (t) => {
  await loadTestImage(t, record);
  t.pass('loaded');
});

t.test('a container on an attachable network talks with a service task on another host', async (t) => {
  for (const args of [['network', 'create', '--attachable', 'appnet'], ['network', 'create', 'plain']]) {
    const r = await on('h1', ...args);
    t.equal(r.code, 0, r.stderr);
  }
  const svc = await on('h1', 'service', 'create', '--name', 'web', '--network', 'appnet', '--constraint', 'node.hostname==h1', 'busybox', 'httpd', '-f', '-p', '80');
  t.equal(svc.code, 0, svc.stderr);
  await eventually('web running', () => tasks('web'), (rows) => runningTasks(rows).length === 1, 60_000);

  const run = await on('h2', 'container', 'run', '-d', '--name', 'probe', '--network', 'appnet', '--network-alias', 'pr', 'busybox', 'sleep', '600');
  t.equal(run.code, 0, run.stderr);
  t.match(run.stdout, /^[a-z0-9]{25}\n$/, 'prints the container ID');
  t.match(await inContainer('h2', 'probe', 'cat /etc/resolv.conf'), /^nameserver 10\.\d+\.\d+\.1$/m, "the network's DNS in resolv.conf");
  const address = await inContainer('h2', 'probe', "ip -4 -o addr show eth0 | awk '{print $4}'");
  t.match(address, /^10\.\d+\.\d+\.\d+\/24$/, `an address on appnet (${address})`);
  const inspected = await on('h2', 'container', 'inspect', '--format', '{{.NetworkSettings.Networks.appnet.IPAddress}}/{{.NetworkSettings.Networks.appnet.IPPrefixLen}} {{json .NetworkSettings.Networks.appnet.Aliases}}', 'probe');
  t.equal(inspected.stdout.trim(), `${address} ["pr"]`, 'container inspect shows its address and alias on appnet');

  const reply = await eventually('web answers the container by name', () => httpFrom('h2', 'probe', 'web'), (line) => line.startsWith('HTTP/1.'), 15_000);
  t.match(reply.value, /^HTTP\/1\.[01] \d{3}/, 'web (VIP on h1) answers the container on h2');
  t.match(await inContainer('h2', 'probe', 'nslookup tasks.web 2>&1'), /Address( 1)?: 10\./, 'tasks.web resolves');

  const webContainer = (await containerNames('h1')).find((n) => n.startsWith('web.'));
  t.ok(webContainer, 'the web task container on h1');
  const bare = address.split('/')[0] as string;
  for (const name of ['probe', 'pr']) {
    const ping = await eventually(`the task pings ${name}`, () => inContainer('h1', webContainer as string, `ping -c 1 -W 2 ${name}`), (out) => out.includes(' 0% packet loss'), 15_000);
    t.ok(ping.value.includes(`(${bare})`), `${name} resolves to the container's address from the task on h1`);
  }
  const rows = await nodeTasks('h2');
  t.ok(rows.some((r) => /^probe\|Running/.test(r)), `node ps h2 lists the attachment running: ${rows.join('; ')}`);
  const keeper = await on('h2', 'container', 'run', '-d', '--name', 'keeper', '--network', 'appnet', 'busybox', 'sleep', '600');
  t.equal(keeper.code, 0, keeper.stderr);
});

t.test('bad input is refused in one line and leaves nothing', async (t) => {
  const before = await nodeTasks('h2');
  const cases: Array<[string[], RegExp]> = [
    [['--network', 'plain'], /network plain is not manually attachable/],
    [['--network', 'nosuch'], /network nosuch not found/],
    [['--network', 'ingress'], /ingress network/],
    [['--network', 'host'], /--network host is not supported/],
    [['--network-alias', 'x'], /--network-alias needs --network/],
    [['--network', 'appnet', '--network-alias', 'bad name'], /not a valid DNS name/],
    [['--network', 'appnet', '--network', 'appnet'], /named twice/],
  ];
  for (const [flags, message] of cases) {
    const r = await on('h2', 'container', 'run', '-d', '--name', 'refused', ...flags, 'busybox', 'true');
    t.not(r.code, 0, `${flags.join(' ')} fails`);
    t.match(r.stderr, message, `${flags.join(' ')}: ${r.stderr.trim()}`);
    t.equal(r.stderr.trim().split('\n').length, 1, 'one line');
    t.notMatch(r.stderr, /\n\s+at /, 'no stack trace');
  }
  t.notOk((await containerNames('h2')).includes('refused'), 'no container was made');
  const names = (rows: string[]): string[] => rows.map((r) => r.split('|')[0] ?? '');
  t.same(names(await nodeTasks('h2')), names(before), 'no attachment was made');
});

t.test('a container removed while the managers are down gives its attachment back once they are up', async (t) => {
  await stopHostDaemon(host('h1'));
  const rm = await on('h2', 'container', 'rm', '-f', 'keeper');
  t.equal(rm.code, 0, `the container goes at once: ${rm.stderr}`);
  await startHostDaemon(host('h1'));
  await eventually('the attachment of keeper is given back', () => nodeTasks('h2'), (rows) => rows.length > 0 && !rows.some((r) => r.startsWith('keeper|')), 60_000);
  t.ok((await nodeTasks('h2')).some((r) => r.startsWith('probe|')), 'the live container keeps its attachment');
});

t.test('the container keeps its network across a tsswarmd restart; removing it removes the attachment', async (t) => {
  await stopHostDaemon(host('h2'));
  await startHostDaemon(host('h2'));
  await eventually('h2 back', () => on('h1', 'node', 'ls', '--format', '{{.Hostname}}|{{.Status}}'), (r) => r.stdout.includes('h2|Ready'), 30_000);
  const reply = await eventually('web still answers after the restart', () => httpFrom('h2', 'probe', 'web'), (line) => line.startsWith('HTTP/1.'), 15_000);
  t.match(reply.value, /^HTTP\/1\.[01] \d{3}/);

  const svcRm = await on('h1', 'service', 'rm', 'web');
  t.equal(svcRm.code, 0, svcRm.stderr);
  const refused = await eventually('web gone from appnet', () => on('h1', 'network', 'rm', 'appnet'), (r) => /in use by container/.test(r.stderr), 20_000);
  t.not(refused.value.code, 0, 'network rm refused while the container is on it');
  t.match(refused.value.stderr, /^tsswarm: network appnet is in use by container probe on node \w+ \(remove the container first\)\n$/);
  const still = await on('h1', 'network', 'ls', '--format', '{{.Name}}');
  t.ok(still.stdout.split('\n').includes('appnet'), 'appnet is still there');

  t.equal((await taskNamespaces('h2')).length, 1, "the attachment's namespace on h2");
  const rm = await on('h2', 'container', 'rm', '-f', 'probe');
  t.equal(rm.code, 0, rm.stderr);
  await eventually('the attachment is gone', () => nodeTasks('h2'), (rows) => !rows.some((r) => r.startsWith('probe|')), 10_000);
  t.same(await taskNamespaces('h2'), [], 'its namespace is gone');

  const fg = await on('h2', 'container', 'run', '--rm', '--network', 'appnet', 'busybox', 'sh', '-c', "ip -4 -o addr show eth0 | awk '{print $4}'");
  t.equal(fg.code, 0, fg.stderr);
  t.match(fg.stdout, /^10\.\d+\.\d+\.\d+\/24\n$/, 'a foreground --rm container gets its address');
  await eventually('nothing left of it', async () => [...(await nodeTasks('h2')), ...(await taskNamespaces('h2'))], (left) => left.length === 0, 10_000);
  t.pass('no attachment, no namespace');

  const netRm = await eventually('appnet can go now', () => on('h1', 'network', 'rm', 'appnet'), (r) => r.code === 0, 20_000);
  t.equal(netRm.value.code, 0, netRm.value.stderr);
});

/** Interfaces netd made in a host's namespace (bridges and veths), with their index. */
function netdDevices(hostName: string): Promise<string[]> {
  return new Promise((resolve) => {
    execFile('ip', ['-n', host(hostName).netns, '-o', 'link'], { timeout: 5_000 }, (err, stdout) => {
      resolve(err ? [] : stdout.split('\n').map((l) => /^(\d+): (ts[bve]-[^:@]+)/.exec(l)).filter((m): m is RegExpExecArray => m !== null).map((m) => `${m[1]}:${m[2]}`).sort());
    });
  });
}

t.test("this host's bridge networks: names, NAT, isolation, internal, restart, removal", async (t) => {
  const before = await netdDevices('h2');
  for (const args of [['mynet'], ['--subnet', '192.168.50.0/24', '--internal', 'inner']]) {
    const r = await on('h2', 'network', 'create', '-d', 'bridge', ...args);
    t.equal(r.code, 0, r.stderr);
  }
  const ls = await on('h2', 'network', 'ls', '--format', '{{.Name}}|{{.Driver}}|{{.Scope}}');
  t.same(ls.stdout.split('\n').filter((l) => l !== ''), ['inner|bridge|local', 'mynet|bridge|local'], 'network ls on the worker: its own networks, scope local');
  const onManager = await on('h1', 'network', 'ls', '--format', '{{.Name}}');
  t.notOk(onManager.stdout.split('\n').includes('mynet'), "another host does not list h2's network");

  for (const args of [['--name', 'b1', '--network', 'mynet'], ['--name', 'b2', '--network', 'mynet', '--network-alias', 'bee'], ['--name', 'i1', '--network', 'inner']]) {
    const r = await on('h2', 'container', 'run', '-d', ...args, 'busybox', 'sleep', '600');
    t.equal(r.code, 0, r.stderr);
  }
  t.match(await inContainer('h2', 'b1', "ip -4 -o addr show eth0 | awk '{print $4}'"), /^172\.18\.0\.\d+\/16$/, "an address from docker's first local pool");
  t.equal(await inContainer('h2', 'b1', 'cat /sys/class/net/eth0/mtu'), '1500', 'MTU 1500 (no encapsulation)');
  t.match(await inContainer('h2', 'b1', 'cat /etc/resolv.conf'), /^nameserver 172\.18\.0\.1$/m, "the network's DNS");
  for (const name of ['b2', 'bee']) t.match(await inContainer('h2', 'b1', `ping -c 1 -W 2 ${name}`), / 0% packet loss/, `b1 reaches ${name} by name`);
  const h1 = host('h1').address;
  t.match(await inContainer('h2', 'b1', `ping -c 1 -W 2 ${h1}`), / 0% packet loss/, 'b1 reaches the other lab host through NAT');
  t.notMatch(await inContainer('h2', 'i1', `ping -c 1 -W 1 ${h1} 2>&1; true`), / 0% packet loss/, 'the internal network reaches no other host');
  const b1 = (await inContainer('h2', 'b1', "ip -4 -o addr show eth0 | awk '{print $4}'")).split('/')[0] as string;
  const inspected = await on('h2', 'container', 'inspect', '--format', '{{.NetworkSettings.Networks.mynet.IPAddress}} {{.NetworkSettings.Networks.mynet.Gateway}}', 'b1');
  t.equal(inspected.stdout.trim(), `${b1} 172.18.0.1`, 'container inspect shows its address and gateway on mynet');
  t.notMatch(await inContainer('h2', 'i1', `ping -c 1 -W 1 ${b1} 2>&1; true`), / 0% packet loss/, 'one bridge network cannot reach another');

  const mixed = await on('h2', 'container', 'run', '-d', '--name', 'mixed', '--network', 'mynet', '--network', 'appnet', 'busybox', 'true');
  t.not(mixed.code, 0, 'bridge and swarm networks at once are refused');
  t.match(mixed.stderr, /either this host's bridge networks \(mynet\) or swarm networks/);
  const inUse = await on('h2', 'network', 'rm', 'mynet');
  t.not(inUse.code, 0);
  t.match(inUse.stderr, /network mynet is in use by container b1/);
  const bad: Array<[string[], RegExp]> = [
    [['-d', 'macvlan', 'x'], /"macvlan" is not supported/],
    [['-d', 'bridge', '--attachable', 'x'], /--attachable is for overlay networks/],
    [['-d', 'bridge', '--subnet', '10.5.0.0/31', 'x'], /too small/],
    [['-d', 'bridge', 'bridge'], /pre-defined network/],
    [['-d', 'bridge', '--opt', 'encrypted', 'x'], /cannot be encrypted/],
    [['-d', 'bridge', 'mynet'], /already exists/],
  ];
  for (const [args, message] of bad) {
    const r = await on('h2', 'network', 'create', ...args);
    t.not(r.code, 0, args.join(' '));
    t.match(r.stderr, message, r.stderr.trim());
  }

  // -p: a port of h2 to a container on its bridge network, from another host and from h2 itself.
  const web = await on('h2', 'container', 'run', '-d', '--name', 'pweb', '-p', '8080:80', '--network', 'mynet', 'busybox', 'httpd', '-f', '-p', '80');
  t.equal(web.code, 0, web.stderr);
  const h2 = host('h2').address;
  for (const from of ['h1', 'h2']) {
    const got = await eventually(`h2:8080 answers ${from}`, () => httpFromHost(from, h2, 8080), (line) => line.startsWith('HTTP/1.'), 10_000);
    t.match(got.value, /^HTTP\/1\.[01] \d{3}/, `${from} reaches the container through h2:8080`);
  }
  const taken = await on('h2', 'container', 'run', '-d', '--name', 'pweb2', '-p', '8080:80', '--network', 'mynet', 'busybox', 'true');
  t.not(taken.code, 0);
  t.match(taken.stderr, /port 8080\/tcp is already published by container pweb/);
  for (const [args, message] of [
    [['-p', '8081:80'], /-p publishes to a bridge network: add --network/],
    [['-p', '80', '--network', 'mynet'], /needs the host port too/],
    [['-p', '8081:80', '--network', 'tools-none'], /network tools-none not found|publishes a container on this host's bridge networks/],
  ] as Array<[string[], RegExp]>) {
    const r = await on('h2', 'container', 'run', '-d', ...args, 'busybox', 'true');
    t.not(r.code, 0, args.join(' '));
    t.match(r.stderr, message, r.stderr.trim());
  }

  const made = await netdDevices('h2');
  await stopHostDaemon(host('h2'));
  await startHostDaemon(host('h2'));
  await eventually('h2 back', () => on('h1', 'node', 'ls', '--format', '{{.Hostname}}|{{.Status}}'), (r) => r.stdout.includes('h2|Ready'), 30_000);
  const again = await eventually('b1 reaches bee after the restart', () => inContainer('h2', 'b1', 'ping -c 1 -W 2 bee'), (out) => out.includes(' 0% packet loss'), 15_000);
  t.ok(again.value.includes(' 0% packet loss'));
  t.same(await netdDevices('h2'), made, 'the same devices (same indexes): nothing was remade');
  t.match(await httpFromHost('h1', h2, 8080), /^HTTP\/1\.[01] \d{3}/, 'the published port still answers after the restart');
  t.equal((await on('h2', 'container', 'rm', '-f', 'pweb')).code, 0);
  await eventually('h2:8080 stops answering', () => httpFromHost('h1', h2, 8080), (line) => line === '', 10_000);
  t.pass('the port goes with the container');
  const kept = await netdDevices('h2');

  // Leaving the swarm: the bridge networks stay (netd goes on for them alone), the swarm ones go.
  t.equal((await on('h1', 'network', 'create', '--attachable', 'tools')).code, 0);
  const sw = await on('h2', 'container', 'run', '-d', '--name', 'sw', '--network', 'tools', 'busybox', 'sleep', '600');
  t.equal(sw.code, 0, sw.stderr);
  const withSwarm = await taskNamespaces('h2');
  const leave = await on('h2', 'swarm', 'leave');
  t.equal(leave.code, 0, leave.stderr);
  t.match(await inContainer('h2', 'b1', 'ping -c 1 -W 2 bee'), / 0% packet loss/, 'outside the swarm, b1 still reaches bee');
  t.equal((await taskNamespaces('h2')).length, withSwarm.length - 1, "the swarm attachment's namespace is gone");
  const toolsRm = await eventually('tools can be removed: the leaving node gave its attachment back', () => on('h1', 'network', 'rm', 'tools'), (r) => r.code === 0, 10_000);
  t.equal(toolsRm.value.code, 0, toolsRm.value.stderr);
  t.notOk((await netdDevices('h2')).some((d) => /:tsv-/.test(d)), 'no VXLAN device left');
  const outside = await on('h2', 'container', 'run', '--rm', '--network', 'mynet', 'busybox', 'sh', '-c', 'ping -c 1 -W 2 b1 | tail -2');
  t.match(outside.stdout, / 0% packet loss/, `a new container joins a bridge network outside the swarm: ${outside.stderr}`);
  const lsOutside = await on('h2', 'network', 'ls', '--format', '{{.Name}}');
  t.same(lsOutside.stdout.split('\n').filter((l) => l !== ''), ['inner', 'mynet'], 'network ls outside a swarm: the bridge networks');
  const token = (await on('h1', 'swarm', 'join-token', '-q', 'worker')).stdout.trim();
  const join = await on('h2', 'swarm', 'join', '--token', token, `${host('h1').address}:2377`);
  t.equal(join.code, 0, join.stderr);
  const rejoined = await eventually('b1 reaches bee in the swarm again', () => inContainer('h2', 'b1', 'ping -c 1 -W 2 bee'), (out) => out.includes(' 0% packet loss'), 15_000);
  t.ok(rejoined.value.includes(' 0% packet loss'));
  const bridgeDevices = (list: string[]): string[] => list.filter((d) => /:tsb-[12]$|:tse-/.test(d));
  t.same(bridgeDevices(await netdDevices('h2')).filter((d) => kept.includes(d)), bridgeDevices(kept), 'the bridge networks kept their devices through leave and join');
  const swRm = await on('h2', 'container', 'rm', '-f', 'sw');
  t.equal(swRm.code, 0, `a container of the old swarm goes: ${swRm.stderr}`);

  for (const c of ['b1', 'b2', 'i1']) t.equal((await on('h2', 'container', 'rm', '-f', c)).code, 0);
  const rm = await on('h2', 'network', 'rm', 'mynet', 'inner');
  t.equal(rm.code, 0, rm.stderr);
  await eventually('every bridge device gone', () => netdDevices('h2'), (devices) => !devices.some((d) => /:tsb-[12]$|:tse-/.test(d)), 10_000);
  t.same((await netdDevices('h2')).filter((d) => !before.includes(d) && !/:ts[bv]-4\d{3}/.test(d)), [], 'nothing but overlay devices of the swarm');
  t.same(await taskNamespaces('h2'), [], 'no namespace left');
  t.equal((await on('h2', 'network', 'ls', '-q')).stdout, '', 'no network left');
});
