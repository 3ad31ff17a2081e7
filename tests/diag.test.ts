// --diag-addr, as health checks and probes use it: /healthz while the process lives, /readyz 200 once
// it serves and 503 with the reason within seconds of NATS going away or of the services it calls no
// longer answering, 200 again once they are back.
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { freePort } from '#libs/testing';
import { BIN, stopChild, TestCluster } from './support/cluster.js';
import { startClusterPostgres, startDbService } from './support/data-plane.js';
import { eventually } from './support/provisioning.js';

function probe(port: number, path: string, timeout = 2_000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path, timeout }, (res) => {
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

it('answers 503 to every path when the process does not answer its listener within 2 s', async () => {
  // The listener's own thread, as DiagServer starts it, with a process that never answers.
  const port = await freePort();
  const worker = new Worker(new URL('../dist/cli/teleport/diag.worker.js', import.meta.url), { workerData: { host: '127.0.0.1', port } });
  try {
    expect(await new Promise((resolve) => worker.once('message', resolve))).toEqual({ listening: true });
    const started = Date.now();
    expect(await probe(port, '/healthz', 5_000)).toEqual({ status: 503, body: 'the process did not answer within 2s\n' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_900);
  } finally {
    await worker.terminate();
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

it('teleport start --roles=proxy: not ready while the services it calls do not answer, ready once they do', async () => {
  const cluster = await TestCluster.start();
  // A second proxy, its own data dir holding the control plane's bus keys as on a control-plane host.
  const dir = join(cluster.dir, 'proxy-2');
  const dataDir = join(dir, 'data');
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  for (const file of ['bus-keys.json', 'kek']) copyFileSync(join(cluster.dataDir, file), join(dataDir, file));
  const config = join(dir, 'teleport.yaml');
  writeFileSync(
    config,
    `teleport:\n  data_dir: ${dataDir}\n  nats:\n    servers: [${cluster.nats.url}]\n` +
      `proxy_service:\n  web_listen_addr: 127.0.0.1:${await freePort()}\n`,
  );
  const diagPort = await freePort();
  const proxy = spawn(process.execPath, [BIN.teleport, 'start', '-c', config, '--roles=proxy', `--diag-addr=127.0.0.1:${diagPort}`], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  proxy.stdout.on('data', (d: Buffer) => (log += d.toString()));
  proxy.stderr.on('data', (d: Buffer) => (log += d.toString()));
  try {
    await eventually(async () => expect(await probe(diagPort, '/readyz')).toEqual({ status: 200, body: 'ok\n' }), 30_000);

    // Auth, inventory and the broker stop; NATS stays.
    await cluster.stopProcess();
    const away = await eventually(async () => {
      const r = await probe(diagPort, '/readyz');
      expect(r.status).toBe(503);
      return r;
    }, 10_000);
    expect(away.body.split('\n').filter(Boolean).sort()).toEqual([
      'the auth service is not running (no responders on auth.ping)',
      'the broker service is not running (no responders on broker.ping)',
      'the inventory service is not running (no responders on inventory.ping)',
    ]);
    expect(await probe(diagPort, '/healthz')).toEqual({ status: 200, body: 'ok\n' });

    await cluster.startProcess();
    await eventually(async () => expect(await probe(diagPort, '/readyz')).toEqual({ status: 200, body: 'ok\n' }), 20_000);
  } catch (err) {
    throw new Error(`${(err as Error).message}\nthe second proxy's log:\n${log}`);
  } finally {
    await stopChild(proxy, 10_000);
    await cluster.stop();
  }
});
