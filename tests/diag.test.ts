// --diag-addr, as health checks and probes use it: /healthz while the process lives, /readyz 200 once
// it serves and 503 with the reason within seconds of NATS going away, 200 again once it is back.
import { get } from 'node:http';
import { freePort } from '#libs/testing';
import { BIN, TestCluster } from './support/cluster.js';
import { startClusterPostgres, startDbService } from './support/data-plane.js';
import { eventually } from './support/provisioning.js';

function probe(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path, timeout: 2_000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    })
      .on('timeout', function (this: { destroy(): void }) {
        this.destroy();
      })
      .on('error', reject);
  });
}

it('teleport start: live and ready, not ready while NATS is away, ready again once it is back', async () => {
  const diagPort = await freePort();
  const cluster = await TestCluster.start({
    command: (config) => [process.execPath, BIN.teleport, 'start', '-c', config, `--diag-addr=127.0.0.1:${diagPort}`],
  });
  try {
    expect(await probe(diagPort, '/healthz')).toEqual({ status: 200, body: 'ok\n' });
    expect(await probe(diagPort, '/readyz')).toEqual({ status: 200, body: 'ok\n' });
    expect((await probe(diagPort, '/nope')).status).toBe(404);

    await cluster.nats.down();
    const away = await eventually(async () => {
      const r = await probe(diagPort, '/readyz');
      expect(r.status).toBe(503);
      return r;
    }, 10_000);
    expect(away.body).toMatch(/^\w[\w-]*: not connected to NATS for \d+s; reconnecting\n/);
    expect(await probe(diagPort, '/healthz')).toEqual({ status: 200, body: 'ok\n' });

    await cluster.nats.up();
    await eventually(async () => expect(await probe(diagPort, '/readyz')).toEqual({ status: 200, body: 'ok\n' }), 20_000);
  } finally {
    await cluster.stop();
  }
});

it('teleport db start: ready once its database is served', async () => {
  const cluster = await TestCluster.start();
  const postgres = await startClusterPostgres(cluster);
  const diagPort = await freePort();
  const service = await startDbService(
    cluster,
    { name: 'example', uri: `localhost:${postgres.port}` },
    { diagAddr: `127.0.0.1:${diagPort}` },
  );
  try {
    expect(await probe(diagPort, '/readyz')).toEqual({ status: 200, body: 'ok\n' });
  } finally {
    await service.stop();
    await postgres.stop();
    await cluster.stop();
  }
});
