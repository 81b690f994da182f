/**
 * Secrets on their way to a worker: the store holds them sealed (as the Control API writes them);
 * the Assignments stream opens them with the dispatcher's revealSecret, and withholds one that
 * does not open instead of sending ciphertext.
 */
import t from 'tap';
import { RealClock } from '../../../lib/clock.js';
import { revealSecret, sealSecretData, secretKeyOf } from '../../../manager/controlapi/secrets-encryption.js';
import { AssignmentsMessageType, Cluster, Secret, TaskState, type AssignmentsMessage, type SessionMessage } from '../../../proto/index.js';
import { addNode, addTask, clientFor, description, newStore, startDispatcher, StreamReader } from './helpers.js';

t.test('the worker gets the secret data decrypted; a secret that does not decrypt is withheld', async (t) => {
  const { store } = newStore();
  const cluster = Cluster.create({ id: 'c1', rootCa: { caKey: new TextEncoder().encode('ca key'), caCert: new Uint8Array(1), caCertHash: 'h' } });
  const other = Cluster.create({ id: 'c1', rootCa: { caKey: new TextEncoder().encode('another ca key'), caCert: new Uint8Array(1), caCertHash: 'h' } });
  await store.update((tx) => tx.create('cluster', cluster));
  await addNode(store, 'node1');
  const sealed = (id: string, plain: string, under: Cluster): Secret =>
    Secret.create({ id, spec: { annotations: { name: id, labels: {} }, data: sealSecretData(secretKeyOf(under), id, new TextEncoder().encode(plain)) } });
  await store.update((tx) => {
    tx.create('secret', sealed('good', 'the-plaintext', cluster));
    tx.create('secret', sealed('bad', 'other-plaintext', other));
  });
  await addTask(store, 'a', { nodeId: 'node1', state: TaskState.RUNNING, secrets: ['good', 'bad'] });
  const { address } = await startDispatcher(t, store, new RealClock(), { revealSecret: (s) => revealSecret(s, store.memory.list('cluster')[0]) });
  const client = clientFor(t, address, 'node1');
  const session = new StreamReader<SessionMessage>(t, client.session(description), address);
  const { sessionId } = await session.next();
  const stream = new StreamReader<AssignmentsMessage>(t, client.assignments(sessionId), address);
  const complete = await stream.next();
  t.equal(complete.type, AssignmentsMessageType.COMPLETE);
  const secrets = complete.changes.flatMap((c) => (c.assignment?.secret ? [c.assignment.secret] : []));
  t.same(secrets.map((s) => s.id), ['good'], 'only the secret that opens is sent');
  t.equal(new TextDecoder().decode(secrets[0]?.spec?.data), 'the-plaintext', 'decrypted for the worker');
  t.ok(store.memory.get('secret', 'good')?.spec?.data.length !== 'the-plaintext'.length, 'the store still holds it sealed');
});
