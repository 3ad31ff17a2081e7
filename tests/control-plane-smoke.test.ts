import { fileURLToPath } from 'node:url';
import { run, TestCluster } from './support/cluster.js';

let cluster: TestCluster;
beforeAll(async () => {
  cluster = await TestCluster.start();
});
afterAll(() => cluster?.stop());

it('answers tctl status with the cluster name and CA pin', async () => {
  const status = await cluster.tctl(['status']);
  expect(status.stderr).toBe('');
  expect(status.stdout).toMatch(/^Cluster  test-cluster\nVersion  \d+\.\d+\.\d+\nCA pin   sha256:[0-9a-f]{64}\n$/);
});

it('tells the Teleport version it follows as the guides show it, in tsh, tctl and teleport alike', async () => {
  // The guides: `tsh version` prints "Teleport v9.2.3 go1.17"; `tctl status` says the same version.
  const status = await cluster.tctl(['status']);
  const serverVersion = /^Version {2}(\S+)$/m.exec(status.stdout)![1];
  for (const bin of ['tsh', 'tctl', 'teleport'] as const) {
    const text = await run(bin, ['version']);
    expect(text).toMatchObject({ code: 0, stderr: '' });
    expect(text.stdout).toMatch(/^Teleport v\d+\.\d+\.\d+ git:dbaccess-v\d+\.\d+\.\d+ node\d+\.\d+\.\d+\n$/);
    expect(text.stdout.startsWith(`Teleport v${serverVersion} `)).toBe(true);
    const json = await run(bin, ['version', '--format=json']);
    expect(JSON.parse(json.stdout)).toEqual({
      version: serverVersion,
      gitref: expect.stringMatching(/^dbaccess-v/),
      runtime: expect.stringMatching(/^node/),
    });
  }
});

it('starts tsh without the RPC schemas: every tsh command waits for what it loads', async () => {
  // zod alone took 120 ms of the 450 ms `tsh version` took on a 2-core VM; tsh play needs none of it.
  const loader = fileURLToPath(new URL('./support/loaded-packages.mjs', import.meta.url));
  const result = await run('tsh', ['version'], { env: { NODE_OPTIONS: `--import=${loader}` } });
  expect(result.code).toBe(0);
  const loaded = [...result.stderr.matchAll(/^loaded (\S+)$/gm)].map((m) => m[1]);
  expect(loaded).toContain('commander'); // the loader reports what tsh loads
  expect(loaded).not.toContain('zod');
});
