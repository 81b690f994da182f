import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const generator = join(repoRoot, 'deploy/proto-gen.mjs');
const committed = join(repoRoot, 'proto/gen');

function generateInto(dir: string): void {
  execFileSync(process.execPath, [generator, '--out', dir], { cwd: repoRoot, stdio: 'pipe' });
}

t.test('regenerating gives byte-identical files to the committed proto/gen, twice over', async (t) => {
  const first = mkdtempSync(join(tmpdir(), 'tsswarm-proto-gen-'));
  const second = mkdtempSync(join(tmpdir(), 'tsswarm-proto-gen-'));
  t.teardown(() => {
    rmSync(first, { recursive: true, force: true });
    rmSync(second, { recursive: true, force: true });
  });
  generateInto(first);
  generateInto(second);

  const files = readdirSync(first).sort();
  t.strictSame(files, ['tsswarm.ts'], 'the generator writes one module');
  t.strictSame(readdirSync(committed).sort(), files, 'proto/gen holds exactly the generated files');
  for (const file of files) {
    const fresh = readFileSync(join(first, file));
    t.ok(fresh.equals(readFileSync(join(second, file))), `${file}: two runs agree`);
    t.ok(
      fresh.equals(readFileSync(join(committed, file))),
      `${file}: proto/gen is up to date (run node deploy/proto-gen.mjs and commit the result)`,
    );
  }
});

t.test('--check passes on the committed output and fails on a stale one', async (t) => {
  const ok = spawnSync(process.execPath, [generator, '--check'], { cwd: repoRoot, encoding: 'utf8' });
  t.equal(ok.status, 0, ok.stderr);

  const empty = mkdtempSync(join(tmpdir(), 'tsswarm-proto-gen-'));
  t.teardown(() => rmSync(empty, { recursive: true, force: true }));
  const stale = spawnSync(process.execPath, [generator, '--check', '--out', empty], { cwd: repoRoot, encoding: 'utf8' });
  t.equal(stale.status, 1);
  t.match(stale.stderr, /is out of date; run node deploy\/proto-gen\.mjs/);
});
