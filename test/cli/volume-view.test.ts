import t from 'tap';
import type { Volume } from '../../proto/index.js';
import { filterVolumes, parseDriverOptions, parseVolumeFilters, pruneReport, volumeCreateRequest, volumeDocument, volumeRow, volumeTable } from '../../cli/volume-view.js';

const volume = (over: Partial<Volume>): Volume => ({
  name: 'data',
  driver: 'local',
  mountpoint: '/var/lib/tsswarm/volumes/data/_data',
  createdAt: '2026-11-23T15:00:00.123Z',
  labels: {},
  options: {},
  scope: 'local',
  usedBy: [],
  anonymous: false,
  ...over,
});

t.test('create flags: --opt needs KEY=VALUE, labels as docker', async (t) => {
  t.same(volumeCreateRequest('data', { opt: ['type=tmpfs', 'device=tmpfs', 'o=size=64m,uid=1000'], label: ['team=a', 'flag'] }), {
    name: 'data',
    driver: 'local',
    driverOptions: { type: 'tmpfs', device: 'tmpfs', o: 'size=64m,uid=1000' },
    labels: { team: 'a', flag: '' },
  });
  t.equal(volumeCreateRequest(undefined, {}).name, '', 'no name: the daemon picks one');
  t.throws(() => parseDriverOptions(['novalue']), { code: 'EINVAL', message: /invalid --opt "novalue": want KEY=VALUE/ });
  t.throws(() => parseDriverOptions(['=x']), { code: 'EINVAL' });
});

t.test('inspect document: docker fields, time to the second, empty maps null', async (t) => {
  t.same(volumeDocument(volume({})), {
    CreatedAt: '2026-11-23T15:00:00Z',
    Driver: 'local',
    Labels: null,
    Mountpoint: '/var/lib/tsswarm/volumes/data/_data',
    Name: 'data',
    Options: null,
    Scope: 'local',
  });
  t.same(volumeDocument(volume({ labels: { a: '1' }, options: { type: 'tmpfs' } })).Labels, { a: '1' });
});

t.test('ls: table, rows and filters', async (t) => {
  const vs = [volume({ name: 'zeta', usedBy: ['web'], labels: { team: 'a', env: 'prod' } }), volume({ name: 'alpha' }), volume({ name: 'beta', labels: { team: 'b' } })];
  t.equal(volumeTable(vs.map(volumeRow)), 'DRIVER   VOLUME NAME\nlocal    zeta\nlocal    alpha\nlocal    beta\n');
  t.same(volumeRow(vs[0] as Volume), { Driver: 'local', Name: 'zeta', Scope: 'local', Mountpoint: '/var/lib/tsswarm/volumes/data/_data', Labels: 'env=prod,team=a', Links: '1' });
  const names = (f: string[]): string[] => filterVolumes(vs, parseVolumeFilters(f)).map((v) => v.name);
  t.same(names([]), ['alpha', 'beta', 'zeta'], 'sorted by name');
  t.same(names(['dangling=true']), ['alpha', 'beta']);
  t.same(names(['dangling=false']), ['zeta']);
  t.same(names(['label=team']), ['beta', 'zeta']);
  t.same(names(['label=team=a', 'label=team=b']), ['beta', 'zeta'], 'values of one key are ORed');
  t.same(names(['label=team', 'dangling=true']), ['beta'], 'keys are ANDed');
  t.same(names(['name=ta']), ['beta', 'zeta'], 'name matches a part, as docker');
  t.throws(() => parseVolumeFilters(['colour=red']), { code: 'EINVAL', message: /invalid filter "colour=red"/ });
  t.throws(() => parseVolumeFilters(['dangling=maybe']), { code: 'EINVAL', message: /dangling is true or false/ });
});

t.test('prune report as docker prints it', async (t) => {
  const size = (n: number): string => `${n}B`;
  t.equal(pruneReport([], 0, size), 'Total reclaimed space: 0B\n');
  t.equal(pruneReport(['a', 'b'], 12, size), 'Deleted Volumes:\na\nb\n\nTotal reclaimed space: 12B\n');
});
