/**
 * validateNetworkSpec with the driver a caller expects: the managers take overlay networks only
 * (CreateNetwork), a host's daemon bridge networks only (daemon/local-networks.ts); each refuses the
 * other's driver with its own message, and a bridge network cannot be ingress or encrypted.
 */
import t from 'tap';
import { ErrorCode, isTsswarmError } from '../../../lib/errors.js';
import { bridgeDriver, overlayDriver, validateNetworkSpec } from '../../../manager/controlapi/network-spec.js';
import { IPAMFamily, type NetworkSpec } from '../../../proto/index.js';

function spec(more: Partial<NetworkSpec> = {}): NetworkSpec {
  return { annotations: { name: 'web', labels: {} }, ipv6Enabled: false, internal: false, attachable: false, ingress: false, ...more };
}

/** The message validateNetworkSpec refuses with (INVALID_ARGUMENT), or 'accepted'. */
function refusal(s: NetworkSpec | undefined, driver?: typeof overlayDriver | typeof bridgeDriver): string {
  try {
    validateNetworkSpec(s, driver);
    return 'accepted';
  } catch (err) {
    if (!isTsswarmError(err, ErrorCode.INVALID_ARGUMENT)) throw err;
    return err.message;
  }
}

t.test('each side refuses the other\'s driver, with its own words', async (t) => {
  t.equal(bridgeDriver, 'bridge');
  t.equal(
    refusal(spec({ driver: { name: 'bridge', options: {} } })),
    'invalid network spec: network driver "bridge" is not supported (--driver): swarm networks use the overlay driver, one-host networks the bridge driver',
    'the managers (overlay, the default) refuse bridge',
  );
  t.equal(
    refusal(spec({ driver: { name: 'overlay', options: {} } }), 'bridge'),
    'invalid network spec: network driver "overlay" is not a local driver: this host\'s own networks use the bridge driver',
    'a host refuses overlay',
  );
  t.equal(refusal(spec({ driver: { name: 'macvlan', options: {} } }), 'bridge'), 'invalid network spec: network driver "macvlan" is not a local driver: this host\'s own networks use the bridge driver');
  t.equal(refusal(spec({ driver: { name: 'overlay', options: {} } }), 'overlay'), 'accepted');
  t.equal(refusal(spec({ driver: { name: 'bridge', options: {} } }), 'bridge'), 'accepted');
});

t.test('the expected driver is filled in when left out', async (t) => {
  t.same(validateNetworkSpec(spec(), 'bridge').driver, { name: 'bridge', options: {} });
  t.same(validateNetworkSpec(spec({ driver: { name: '', options: { 'com.example': 'x' } } }), 'bridge').driver, { name: 'bridge', options: { 'com.example': 'x' } }, 'options kept');
  t.same(validateNetworkSpec(spec()).driver, { name: 'overlay', options: {} }, 'overlay by default');
});

t.test('a bridge network cannot be the ingress network or encrypted; an overlay can', async (t) => {
  t.equal(refusal(spec({ ingress: true }), 'bridge'), 'invalid network spec: a bridge network cannot be the ingress network (--ingress)');
  t.equal(
    refusal(spec({ driver: { name: 'bridge', options: { encrypted: '' } } }), 'bridge'),
    'invalid network spec: a bridge network cannot be encrypted (--opt encrypted): its traffic never leaves the host',
  );
  t.equal(
    refusal(spec({ ingress: true, attachable: true, driver: { name: 'bridge', options: { encrypted: 'true' } } }), 'bridge'),
    'invalid network spec: a bridge network cannot be the ingress network (--ingress); a bridge network cannot be encrypted (--opt encrypted): its traffic never leaves the host; an ingress network cannot be attachable (--ingress with --attachable)',
    'every problem at once',
  );
  t.equal(refusal(spec({ ingress: true })), 'accepted', 'an overlay may be the ingress network');
  t.equal(refusal(spec({ driver: { name: 'overlay', options: { encrypted: '' } } })), 'accepted', 'an overlay may be encrypted');
  t.equal(refusal(spec({ driver: { name: '', options: { encrypted: '' } } }), 'bridge'), 'invalid network spec: a bridge network cannot be encrypted (--opt encrypted): its traffic never leaves the host', 'also with the driver left out');
});

t.test('the common rules hold for bridge networks too', async (t) => {
  t.equal(refusal(spec({ annotations: { name: 'bridge', labels: {} } }), 'bridge'), 'invalid network spec: bridge is a pre-defined network and cannot be created');
  t.equal(refusal(spec({ annotations: { name: 'host', labels: {} } }), 'bridge'), 'invalid network spec: host is a pre-defined network and cannot be created');
  t.equal(refusal(undefined, 'bridge'), 'invalid network spec: a spec is required');
  t.equal(refusal(spec({ ipv6Enabled: true }), 'bridge'), 'invalid network spec: IPv6 is not supported (--ipv6): overlay networks are IPv4 only');
  const input = spec({ internal: true, ipam: { configs: [{ family: IPAMFamily.UNKNOWN, subnet: '10.1.0.0/24', gateway: '10.1.0.254', ipRange: '', reserved: {} }] } });
  const before = structuredClone(input);
  const checked = validateNetworkSpec(input, 'bridge');
  t.same(checked.ipam, { driver: { name: 'default', options: {} }, configs: [{ family: IPAMFamily.IPV4, subnet: '10.1.0.0/24', gateway: '10.1.0.254', ipRange: '', reserved: {} }] });
  t.equal(checked.internal, true);
  t.same(input, before, 'the caller\'s spec is not changed');
});
