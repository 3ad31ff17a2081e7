import { TestCluster } from './support/cluster.js';

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
