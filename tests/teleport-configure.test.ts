import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '#libs/config';
import { run } from './support/cluster.js';

describe('teleport configure', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dbaccess-configure-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes a starter file that teleport start accepts, and never overwrites one', async () => {
    const file = join(dir, 'teleport.yaml');
    const args = [
      'configure',
      '--cluster-name=example.com',
      `--data-dir=${join(dir, 'data')}`,
      '--public-addr=proxy.example.com:3080',
      `-o`,
      `file://${file}`,
    ];
    const first = await run('teleport', args);
    expect(first).toMatchObject({
      code: 0,
      stdout: `Wrote config to file "${file}". Now you can start the server: teleport start --config="${file}"\n`,
    });
    expect(statSync(file).mode & 0o777).toBe(0o600);

    const config = loadConfig(file, {});
    expect(config.auth.clusterName).toBe('example.com');
    expect(config.dataDir).toBe(join(dir, 'data'));
    expect(config.proxy.publicAddrs).toEqual(['proxy.example.com:3080']);
    expect(config.nats.embedded).toBe(true);

    const again = await run('teleport', args);
    expect(again.code).toBe(1);
    expect(again.stderr).toBe(`ERROR: ${file} already exists; remove it or write elsewhere with -o file:///path\n`);
  });

  it('prints to stdout by default', async () => {
    const out = await run('teleport', ['configure', '--cluster-name=c1']);
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/auth_service:\n {2}enabled: "yes"\n {2}cluster_name: "c1"\n/);
  });
});
