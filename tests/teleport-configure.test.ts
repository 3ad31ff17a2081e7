import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '#libs/config';
import { BIN, run, TestCluster } from './support/cluster.js';

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
    expect(first.code).toBe(0);
    // (A note follows when this machine's port 4222 is taken: see below.)
    expect(
      first.stdout.startsWith(`Wrote config to file "${file}". Now you can start the server: teleport start --config="${file}"\n`),
    ).toBe(true);
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

  it('--acme --acme-email: port 443, the cluster name as public_addr, and the acme section (guide 001)', async () => {
    const out = await run('teleport', ['configure', '--acme', '--acme-email=user@example.com', '--cluster-name=tele.example.com']);
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(
      / {2}web_listen_addr: ":443"\n {2}public_addr: "tele.example.com:443"\n(?: {2}#.*\n)* {2}acme:\n {4}enabled: "yes"\n {4}email: "user@example.com"\n/,
    );
    const file = join(dir, 'acme.yaml');
    writeFileSync(file, out.stdout);
    expect(loadConfig(file).proxy).toMatchObject({
      webListenAddr: ':443',
      publicAddrs: ['tele.example.com:443'],
      acme: { email: 'user@example.com' },
    });
    const bare = await run('teleport', ['configure', '--acme']);
    expect({ code: bare.code, stderr: bare.stderr }).toEqual({
      code: 1,
      stderr: expect.stringMatching(/^ERROR: --acme needs --acme-email/),
    });
  });

  it('prints to stdout by default', async () => {
    const out = await run('teleport', ['configure', '--cluster-name=c1']);
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/auth_service:\n {2}enabled: "yes"\n(?: {2}#.*\n)* {2}cluster_name: "c1"\n/);
  });

  it('says so when the port its NATS would listen on is taken', async () => {
    // Taken by this machine's own NATS, or else by this test.
    const holder = createServer();
    await new Promise<void>((resolve) => {
      holder.once('error', () => resolve());
      holder.listen(4222, '127.0.0.1', () => resolve());
    });
    try {
      const file = join(dir, 'taken.yaml');
      const out = await run('teleport', ['configure', '--cluster-name=c2', `--data-dir=${join(dir, 'data2')}`, '-o', `file://${file}`]);
      expect(out).toMatchObject({ code: 0, stderr: '' });
      expect(out.stdout).toContain(
        `Note: 127.0.0.1:4222 is already in use on this host, and the cluster runs its own NATS there: change teleport.nats.listen_addr in ${file} to a free port first.\n`,
      );
    } finally {
      holder.close();
    }
  });
});

describe('teleport install systemd', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dbaccess-systemd-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes a unit systemd accepts, whose command starts the cluster and keeps its pid file', async () => {
    const unitFile = join(dir, 'teleport.service');
    const pidFile = join(dir, 'teleport.pid');
    let unit = '';
    const cluster = await TestCluster.start({
      command: (configFile) => {
        // The unit as the guides make it (-o), for this cluster's config: systemd would run its ExecStart.
        const made = spawnSync(
          process.execPath,
          [BIN.teleport, 'install', 'systemd', '-o', unitFile, `--config=${configFile}`, `--pid-file=${pidFile}`],
          {
            encoding: 'utf8',
          },
        );
        expect(made).toMatchObject({ status: 0, stderr: '' });
        expect(made.stdout).toContain(`Wrote the systemd unit to ${unitFile}.`);
        unit = readFileSync(unitFile, 'utf8');
        return /^ExecStart=(.*)$/m.exec(unit)![1]!.split(' ');
      },
    });
    try {
      expect(unit).toMatch(
        /^\[Unit\]\nDescription=Teleport Service\n[\s\S]*\nPIDFile=.*\nLimitNOFILE=524288\n\n\[Install\]\nWantedBy=multi-user.target\n$/,
      );
      expect(readFileSync(pidFile, 'utf8')).toBe(`${cluster.pid()}\n`);
      const verified = spawnSync('systemd-analyze', ['verify', unitFile], { encoding: 'utf8' });
      if (verified.error === undefined) expect({ status: verified.status, stderr: verified.stderr }).toEqual({ status: 0, stderr: '' });
      await cluster.stopProcess();
      expect(existsSync(pidFile)).toBe(false);
    } finally {
      await cluster.stop();
    }
  });
});
