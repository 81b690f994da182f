/**
 * Secret data at rest: a one-member raft group with a real WAL and snapshots under a temp dir,
 * the store on top and the Control API creating secrets through it. The plaintext must appear in
 * no file of the raft directory (WAL segments, snapshots), while the dispatcher's reveal still
 * gets it back, also after a restart from those files.
 */
import t from 'tap';
import { credentials } from '@grpc/grpc-js';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { seededRng } from '../../../lib/rng.js';
import { ServiceControlApi } from '../../../manager/controlapi/service-control-api.js';
import { revealSecret } from '../../../manager/controlapi/secrets-encryption.js';
import { RaftNode } from '../../../manager/raft/node/raft-node.js';
import { MemoryStore, RaftProposer, Store, StoreApplication } from '../../../manager/store/index.js';
import { Cluster, SecretSpec } from '../../../proto/index.js';
import { tempDir } from '../../helpers/temp-dir.js';
import { FakeMembership } from './helpers.js';

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const name of await readdir(dir)) {
    const path = join(dir, name);
    if ((await stat(path)).isDirectory()) out.push(...(await filesUnder(path)));
    else out.push(path);
  }
  return out;
}

async function until(cond: () => boolean, ms = 10_000): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
  return cond();
}

async function member(dir: string): Promise<{ node: RaftNode; store: Store; api: ServiceControlApi }> {
  const memory = new MemoryStore();
  const node = await RaftNode.start({
    id: 1,
    members: new Map([[1, '127.0.0.1:1']]),
    dir,
    application: new StoreApplication(memory),
    credentials: credentials.createInsecure(),
    rng: seededRng(1),
    tickMs: 10,
    snapshotEveryEntries: 5,
    catchUpEntries: 2,
  });
  const store = new Store(memory, new RaftProposer(node));
  const api = new ServiceControlApi({ store, membership: new FakeMembership([], 'n1'), rng: seededRng(2) });
  return { node, store, api };
}

t.test('secret plaintext never reaches the raft WAL or snapshots', async (t) => {
  const dir = await tempDir(t, 'secrets-at-rest');
  const plain = `plaintext-${randomBytes(12).toString('hex')}`;
  let m = await member(dir);
  t.teardown(() => m.node.stop());
  t.ok(await until(() => m.node.isLeader), 'the single member leads');
  await m.store.update((tx) =>
    tx.create('cluster', Cluster.create({ id: 'c1', rootCa: { caKey: new TextEncoder().encode('-----BEGIN PRIVATE KEY-----\nkey\n-----END PRIVATE KEY-----\n'), caCert: new Uint8Array(1), caCertHash: 'h' } })),
  );
  const ids: string[] = [];
  for (let i = 0; i < 12; i++) {
    const { secret } = await m.api.secrets.createSecret({ spec: SecretSpec.create({ annotations: { name: `s${i}`, labels: {} }, data: new TextEncoder().encode(`${plain}-${i}`) }) });
    ids.push(secret?.id ?? '');
  }
  await m.node.stop();

  const files = await filesUnder(dir);
  t.ok(files.some((f) => /snap/i.test(f)), `a snapshot was written: ${files.map((f) => f.slice(dir.length)).join(' ')}`);
  let bytes = 0;
  for (const f of files) {
    const content = await readFile(f);
    bytes += content.length;
    t.notOk(content.includes(plain), `no plaintext in ${f.slice(dir.length)}`);
    t.notOk(content.includes(Buffer.from(plain).toString('base64').slice(0, 16)), `no base64 plaintext in ${f.slice(dir.length)}`);
  }
  t.ok(bytes > 0, `${files.length} files, ${bytes} bytes searched`);

  m = await member(dir);
  t.ok(await until(() => m.store.memory.list('secret').length === 12), 'the restarted member has every secret back');
  const cluster = m.store.memory.list('cluster')[0];
  const secret = m.store.memory.get('secret', ids[7] ?? '');
  t.equal(new TextDecoder().decode(revealSecret(secret!, cluster).spec?.data), `${plain}-7`, 'and opens it with the cluster key');
});
