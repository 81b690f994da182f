/**
 * Runs every IPAM script in testdata/*.txt. Commands:
 *   ipam [pool=BASE:SIZE,...] [vni=MIN-MAX]    a fresh allocator (default: 10.0.0.0/8 in /24s)
 *   net ID [subnet=] [gateway=] [range=] [vni=] allocate a network, print what it got
 *   rmnet ID                                    release a network
 *   addr NET OWNER [ip=]                        allocate one address
 *   addrs NET PREFIX COUNT                      allocate COUNT addresses (owners PREFIX1..), print first..last
 *   release NET ADDRESS                         release an address
 *   roundtrip                                   toJSON → JSON text → fromJSON, print whether it is identical
 *   show NET                                    the network's allocation and its addresses
 * Errors print as `error CODE: message`.
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { isTsswarmError } from '../../../lib/errors.js';
import { Ipam, type IpamState, type NetworkAllocation, type PoolConfig } from '../../../manager/allocator/ipam.js';
import { parseArgs, parseScript, renderScript } from '../../helpers/script-file.js';

const here = dirname(fileURLToPath(import.meta.url));
const testdata = join(here, 'testdata');
const update = process.env['UPDATE_TESTDATA'] === '1';

function fmt(n: NetworkAllocation): string {
  return `${n.id} subnet=${n.subnet} gateway=${n.gateway} range=${n.ipRange} vni=${n.vni}`;
}

class IpamHarness {
  private ipam = Ipam.create();

  run(command: string): string[] {
    try {
      return this.exec(command);
    } catch (err) {
      if (isTsswarmError(err)) return [`error ${err.code}: ${err.message}`];
      throw err;
    }
  }

  private exec(command: string): string[] {
    const { words, opts } = parseArgs(command);
    const [verb, a1, a2, a3] = words;
    const opt = (k: string): { [key: string]: string } => {
      const v = opts.get(k);
      return v === undefined ? {} : { [k]: v };
    };
    switch (verb) {
      case 'ipam': {
        const pool = opts.get('pool');
        const poolList: PoolConfig[] = pool === undefined ? [{ base: '10.0.0.0/8', size: 24 }] : pool.split(',').map((p) => {
          const at = p.lastIndexOf(':');
          return { base: p.slice(0, at), size: Number(p.slice(at + 1)) };
        });
        const [vmin, vmax] = (opts.get('vni') ?? '4096-16777215').split('-').map(Number);
        this.ipam = Ipam.create({ pools: poolList, vniMin: vmin ?? 0, vniMax: vmax ?? 0 });
        return ['ok'];
      }
      case 'net': {
        const vni = opts.get('vni');
        const n = this.ipam.allocateNetwork({
          id: a1 ?? '',
          ...opt('subnet'),
          ...opt('gateway'),
          ...(opts.has('range') ? { ipRange: opts.get('range') ?? '' } : {}),
          ...(vni === undefined ? {} : { vni: Number(vni) }),
        });
        return [fmt(n)];
      }
      case 'rmnet':
        this.ipam.releaseNetwork(a1 ?? '');
        return ['ok'];
      case 'addr': {
        const ip = opts.get('ip');
        return [this.ipam.allocateAddress(a1 ?? '', a2 ?? '', ...(ip === undefined ? [] : [ip]))];
      }
      case 'addrs': {
        const count = Number(a3);
        const got: string[] = [];
        for (let i = 1; i <= count; i++) got.push(this.ipam.allocateAddress(a1 ?? '', `${a2 ?? ''}${i}`));
        return [`${got.length} addresses: ${got[0] ?? '-'} .. ${got[got.length - 1] ?? '-'}`];
      }
      case 'release':
        this.ipam.releaseAddress(a1 ?? '', a2 ?? '');
        return ['ok'];
      case 'roundtrip': {
        const text = JSON.stringify(this.ipam.toJSON());
        const back = Ipam.fromJSON(JSON.parse(text) as IpamState);
        const same = JSON.stringify(back.toJSON()) === text;
        this.ipam = back;
        return [same ? 'identical' : 'DIFFERENT'];
      }
      case 'show': {
        const n = this.ipam.network(a1 ?? '');
        const state = this.ipam.toJSON().networks.find((x) => x.id === a1);
        const addrs = Object.entries(state?.addresses ?? {}).map(([a, o]) => `${a}=${o}`);
        return [fmt(n), `addresses: ${addrs.length === 0 ? '(none)' : addrs.join(' ')}`];
      }
      case 'networks':
        return [this.ipam.networkIds().join(' ') || '(none)'];
      default:
        throw new Error(`unknown command ${JSON.stringify(command)}`);
    }
  }
}

for (const file of readdirSync(testdata).filter((f) => f.endsWith('.txt')).sort()) {
  t.test(file, async (t) => {
    const path = join(testdata, file);
    const { header, steps } = parseScript(readFileSync(path, 'utf8'));
    const harness = new IpamHarness();
    const actual = steps.map((s) => ({ command: s.command, output: harness.run(s.command), comments: s.comments }));
    if (update) {
      writeFileSync(path, renderScript(header, actual));
      t.pass('rewrote expectations');
      return;
    }
    for (const [i, s] of steps.entries()) t.same(actual[i]?.output, s.expected, `${file}: > ${s.command}`);
  });
}
