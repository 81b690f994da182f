import t from 'tap';
import { leftovers, ourMounts, ourNftTables, type Scan } from './scan.js';

const empty: Scan = { namespaces: [], mounts: [], cgroups: [], nftTables: [], processes: [], tempDirs: [], strayFiles: [] };

t.test('only what is new after the suite counts as left over', async (t) => {
  const before: Scan = { ...empty, namespaces: ['tss-old-h1'], processes: ['10 conmon'] };
  const after: Scan = { ...empty, namespaces: ['tss-old-h1', 'tss-new-h1'], processes: ['10 conmon', '11 runc'], tempDirs: ['/tmp/tsswarm-x'] };
  t.same(leftovers(before, after), ['namespaces: tss-new-h1', 'processes: 11 runc', 'tempDirs: /tmp/tsswarm-x']);
  t.same(leftovers(after, after), []);
});

t.test('mounts and nft tables of tsswarm are recognised, others ignored', async (t) => {
  const info = ['1 0 0:1 / /run/netns/tss-a-h1 rw - nsfs nsfs rw', '2 0 0:2 / /run/netns/other rw - nsfs nsfs rw', '3 0 0:3 / /var/lib/tsswarm/x rw - overlay o rw'].join('\n');
  t.same(ourMounts(info), ['/run/netns/tss-a-h1', '/var/lib/tsswarm/x']);
  t.same(ourNftTables('table inet filter\ntable ip tsswarm-nat\ntable ip tss-mesh\n'), ['table ip tsswarm-nat', 'table ip tss-mesh']);
});
