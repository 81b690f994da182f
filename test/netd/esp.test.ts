/**
 * Encrypted networks are refused, never made unencrypted, and everything on them is left out of
 * the host's desired state while the rest stays.
 */
import t from 'tap';
import { desiredForHost } from '../../netd/desired.js';
import { refuseEncrypted, withoutNetworks } from '../../netd/esp.js';

const desired = desiredForHost({
  hostAddress: '198.18.0.1',
  underlayDevice: 'eth0',
  networks: [
    { id: 'plain', vni: 4096, subnet: '10.0.0.0/24', gateway: '10.0.0.1', internal: false },
    { id: 'secure', vni: 4097, subnet: '10.0.1.0/24', gateway: '10.0.1.1', internal: false, encrypted: true },
  ],
  endpoints: [
    { id: 'a', networkId: 'plain', hostAddress: '198.18.0.1', netns: 'ns-a', address: '10.0.0.2' },
    { id: 'b', networkId: 'secure', hostAddress: '198.18.0.1', netns: 'ns-a', address: '10.0.1.2', serviceId: 's' },
    { id: 'c', networkId: 'secure', hostAddress: '198.18.0.2', netns: 'ns-c', address: '10.0.1.3' },
  ],
  services: [{ id: 's', networkId: 'secure', vip: '10.0.1.100', ports: [{ protocol: 'tcp', port: 80 }] }],
});

t.test('without ESP the reason says so; with ESP it says encryption is not built yet', async (t) => {
  const noEsp = refuseEncrypted(desired, false);
  t.same(noEsp.map((r) => r.networkId), ['secure']);
  t.match(noEsp[0]?.reason, /needs kernel ESP support .* not created rather than left unencrypted/);
  t.match(refuseEncrypted(desired, true)[0]?.reason, /does not implement yet/);
});

t.test('a refused network takes its endpoints, remotes and services with it', async (t) => {
  const kept = withoutNetworks(desired, new Set(['secure']));
  t.same(kept.networks.map((n) => n.id), ['plain']);
  t.same(kept.local.map((e) => e.id), ['a']);
  t.same(kept.remote, []);
  t.same(kept.services, []);
  t.equal(withoutNetworks(desired, new Set()), desired, 'nothing refused: the same object');
});
