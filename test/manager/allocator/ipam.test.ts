/**
 * IPAM properties the scripts do not show well: corrupt stored state is refused, a large pool is
 * walked without scanning it, and a failed call leaves the serialized state unchanged.
 */
import t from 'tap';
import { ErrorCode, isTsswarmError } from '../../../lib/errors.js';
import { parseCidr, formatCidr, cidrOverlaps } from '../../../manager/allocator/cidr.js';
import { Ipam, type IpamState } from '../../../manager/allocator/ipam.js';

/** The code of the TsswarmError `fn` throws, or 'no error'. */
function codeOf(fn: () => unknown): string {
  try {
    fn();
    return 'no error';
  } catch (err) {
    return isTsswarmError(err) ? err.code : `not a TsswarmError: ${String(err)}`;
  }
}

t.test('corrupt state is refused with CORRUPT', async (t) => {
  const ipam = Ipam.create();
  ipam.allocateNetwork({ id: 'n' });
  const good = ipam.toJSON();
  const cases: [string, IpamState][] = [
    ['unknown version', { ...good, version: 2 as 1 }],
    ['bad subnet', { ...good, networks: good.networks.map((n) => ({ ...n, subnet: '10.0.0.7/24' })) }],
    ['VNI not marked used', { ...good, vni: { ...good.vni, used: [] } }],
    ['duplicate network', { ...good, networks: [...good.networks, ...good.networks] }],
  ];
  for (const [what, state] of cases) {
    t.equal(codeOf(() => Ipam.fromJSON(state)), ErrorCode.CORRUPT, what);
  }
});

t.test('thousands of pool subnets are handed out in order without overlap', async (t) => {
  const ipam = Ipam.create();
  ipam.allocateNetwork({ id: 'user', subnet: '10.0.8.0/21' });
  const got: string[] = [];
  for (let i = 0; i < 3000; i++) got.push(ipam.allocateNetwork({ id: `n${i}` }).subnet);
  t.equal(got[7], '10.0.7.0/24', 'the pool fills up to the user subnet');
  t.equal(got[8], '10.0.16.0/24', 'and skips past it');
  const user = parseCidr('10.0.8.0/21');
  t.notOk(got.some((s) => cidrOverlaps(parseCidr(s), user)), 'no pool subnet overlaps the user subnet');
  t.equal(new Set(got).size, got.length, 'all distinct');
  t.equal(formatCidr(parseCidr(got[2999] ?? '')), '10.11.191.0/24');
});

t.test('a failed call changes nothing', async (t) => {
  const ipam = Ipam.create();
  ipam.allocateNetwork({ id: 'a', subnet: '10.1.0.0/16' });
  ipam.allocateAddress('a', 'x');
  const before = JSON.stringify(ipam.toJSON());
  const bad: (() => unknown)[] = [
    () => ipam.allocateNetwork({ id: 'b', subnet: '10.1.5.0/24' }),
    () => ipam.allocateNetwork({ id: 'b', subnet: '10.2.0.0/24', gateway: '10.3.0.1' }),
    () => ipam.allocateNetwork({ id: 'b', vni: 4096 }),
    () => ipam.allocateAddress('a', 'y', '10.1.0.2'),
    () => ipam.releaseNetwork('a'),
  ];
  for (const f of bad) t.not(codeOf(f), 'no error');
  t.equal(JSON.stringify(ipam.toJSON()), before);
});

t.test('a whole /16 can be allocated and every address is distinct and inside', async (t) => {
  const ipam = Ipam.create();
  ipam.allocateNetwork({ id: 'big', subnet: '172.16.0.0/16' });
  const seen = new Set<string>();
  for (let i = 0; i < 65533; i++) seen.add(ipam.allocateAddress('big', `t${i}`));
  t.equal(seen.size, 65533, '2^16 minus network, broadcast and gateway');
  t.notOk(seen.has('172.16.0.1') || seen.has('172.16.0.0') || seen.has('172.16.255.255'));
  t.equal(codeOf(() => ipam.allocateAddress('big', 'one-more')), ErrorCode.CONFLICT);
});
