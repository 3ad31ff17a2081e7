import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BadParameterError } from '#libs/common';
import { defaultWorkers, loadConfig } from './load.js';

function file(text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'cfg-')), 'teleport.yaml');
  writeFileSync(path, text);
  return path;
}

describe('loadConfig', () => {
  it('reads the guide-style keys and embeds NATS by default', () => {
    const config = loadConfig(
      file(
        `teleport:\n  data_dir: /tmp/x\nauth_service:\n  enabled: "yes"\n  cluster_name: "test"\n  listen_addr: 0.0.0.0:3025\nproxy_service:\n  enabled: "yes"\n  web_listen_addr: 0.0.0.0:3080\n  public_addr: teleport.example.com:3080\nssh_service:\n  enabled: "no"\n`,
      ),
      {},
    );
    expect(config.dataDir).toBe('/tmp/x');
    expect(config.auth.clusterName).toBe('test');
    expect(config.auth.kek).toEqual({ file: '/tmp/x/kek' });
    expect(config.proxy.publicAddrs).toEqual(['teleport.example.com:3080']);
    expect(config.proxyAddr).toBe('teleport.example.com:3080');
    expect(config.nats).toEqual({
      servers: ['nats://127.0.0.1:4222'],
      embedded: true,
      listenAddr: '127.0.0.1:4222',
      keysFile: join(config.dataDir, 'bus-keys.json'),
      replicas: 1,
    });
  });

  it('takes NATS servers from NATS_URL over the file', () => {
    const config = loadConfig(file(`teleport:\n  nats:\n    servers: [nats://a:4222]\n`), { NATS_URL: 'nats://b:4222,nats://c:4222' });
    expect(config.nats).toMatchObject({ servers: ['nats://b:4222', 'nats://c:4222'], embedded: false });
  });

  it('keeps streams and buckets on as many NATS nodes as teleport.nats.replicas says, 1 to 5', () => {
    expect(loadConfig(file('teleport:\n  nats:\n    servers: [nats://a:4222]\n    replicas: 3\n'), {}).nats.replicas).toBe(3);
    expect(() => loadConfig(file('teleport:\n  nats:\n    replicas: 0\n'), {})).toThrow(BadParameterError);
    expect(() => loadConfig(file('teleport:\n  nats:\n    replicas: 7\n'), {})).toThrow(BadParameterError);
  });

  it('dials loopback when the proxy listens on all interfaces', () => {
    expect(loadConfig(file('proxy_service:\n  web_listen_addr: 0.0.0.0:4080\n'), {}).proxyAddr).toBe('localhost:4080');
  });

  it.each([
    ['malformed YAML', 'teleport: [unclosed', /malformed YAML at line 1/],
    ['an unknown field', 'auth_service:\n  clustr_name: x\n', /auth_service\.clustr_name: unknown field/],
    ['an unknown section', 'kube_service:\n  enabled: yes\n', /kube_service: unknown field/],
    ['a wrong type', 'proxy_service:\n  enabled: maybe\n', /proxy_service\.enabled/],
  ])('refuses %s with one line naming it', (_what, text, message) => {
    expect(() => loadConfig(file(text), {})).toThrow(BadParameterError);
    expect(() => loadConfig(file(text), {})).toThrow(message);
  });

  it('says when the named file cannot be read', () => {
    expect(() => loadConfig('/nonexistent/teleport.yaml', {})).toThrow(/cannot read config file \/nonexistent\/teleport.yaml: ENOENT/);
  });
});

describe('proxy_service certificates', () => {
  const proxy = (lines: string) => file(`proxy_service:\n  public_addr: tele.example.com:443\n${lines}`);

  it('reads https_keypairs, and acme with its e-mail and optional directory', () => {
    expect(loadConfig(proxy('  https_keypairs:\n  - key_file: /k\n    cert_file: /c\n'), {}).proxy.httpsKeyPairs).toEqual([
      { keyFile: '/k', certFile: '/c' },
    ]);
    expect(loadConfig(proxy('  acme:\n    enabled: "yes"\n    email: a@example.com\n'), {}).proxy.acme).toEqual({ email: 'a@example.com' });
    expect(loadConfig(proxy('  acme:\n    enabled: "no"\n    email: a@example.com\n'), {}).proxy.acme).toBeUndefined();
  });

  it('refuses acme without an e-mail or a public_addr DNS name, or with https_keypairs too', () => {
    expect(() => loadConfig(proxy('  acme:\n    enabled: "yes"\n'), {})).toThrow(/acme needs email/);
    expect(() => loadConfig(file('proxy_service:\n  acme:\n    enabled: "yes"\n    email: a@example.com\n'), {})).toThrow(
      /acme needs public_addr/,
    );
    expect(() =>
      loadConfig(
        proxy('  acme:\n    enabled: "yes"\n    email: a@example.com\n  https_keypairs:\n  - key_file: /k\n    cert_file: /c\n'),
        {},
      ),
    ).toThrow(/keep one/);
  });
});

describe('db_service', () => {
  it('reads databases as teleport db configure create writes them', () => {
    const config = loadConfig(
      file(
        `teleport:\n  auth_token: /tmp/token\n  proxy_server: teleport.example.com:3080\n` +
          `db_service:\n  enabled: "yes"\n  databases:\n  - name: example-postgres\n    protocol: postgres\n    uri: postgres.example.com:5432\n` +
          `    static_labels:\n      env: dev\n    tls:\n      mode: verify-full\n      ca_cert_file: /var/lib/teleport/db.ca\n` +
          `    dynamic_labels:\n    - name: hostname\n      command: [hostname]\n      period: 1m\n` +
          `auth_service:\n  enabled: "no"\nproxy_service:\n  enabled: "no"\n`,
      ),
      {},
    );
    expect(config.authToken).toBe('/tmp/token');
    expect(config.proxyAddr).toBe('teleport.example.com:3080');
    expect(config.auth.enabled).toBe(false);
    expect(config.db.enabled).toBe(true);
    expect(config.db.databases[0]).toMatchObject({
      name: 'example-postgres',
      uri: 'postgres.example.com:5432',
      static_labels: { env: 'dev' },
    });
  });

  it('refuses a database with an unknown field or a bad uri', () => {
    expect(() =>
      loadConfig(file(`db_service:\n  databases:\n  - name: a\n    protocol: postgres\n    uri: h:1\n    urx: x\n`), {}),
    ).toThrow(/db_service\.databases\.0\.urx: unknown field/);
    expect(() => loadConfig(file(`db_service:\n  databases:\n  - name: a\n    protocol: postgres\n    uri: nohost\n`), {})).toThrow(
      /db_service\.databases\.0\.uri: must be host:port/,
    );
  });
});

describe('audit', () => {
  it('keeps 90 days within 1 GiB by default, beside auth', () => {
    expect(loadConfig(file('teleport:\n  data_dir: /tmp/x\n'), {}).audit).toEqual({
      enabled: true,
      retentionMs: 90 * 24 * 3_600_000,
      maxBytes: 1024 ** 3,
    });
  });

  it('reads retention_period and max_size', () => {
    const config = loadConfig(file('audit:\n  retention_period: 720h\n  max_size: 200MB\n'), {});
    expect(config.audit).toMatchObject({ retentionMs: 720 * 3_600_000, maxBytes: 200e6 });
  });

  it.each([
    ['audit:\n  retention_period: 30d\n', /audit\.retention_period: invalid duration "30d"/],
    ['audit:\n  max_size: huge\n', /audit\.max_size: invalid size "huge"/],
  ])('names the bad setting in %p', (text, message) => {
    expect(() => loadConfig(file(text), {})).toThrow(message);
  });
});

describe('proxy_service.connection_limits', () => {
  it('gives a pending connection 5 s, 128 from one source and 512 in all by default', () => {
    expect(loadConfig(file('proxy_service:\n  enabled: yes\n'), {}).proxy.connectionLimits).toEqual({
      handshakeTimeoutMs: 5_000,
      maxPendingPerSource: 128,
      maxPending: 512,
    });
  });

  it('reads the three settings', () => {
    const config = loadConfig(
      file('proxy_service:\n  connection_limits:\n    handshake_timeout: 2500ms\n    max_pending_per_source: 16\n    max_pending: 4096\n'),
      {},
    );
    expect(config.proxy.connectionLimits).toEqual({ handshakeTimeoutMs: 2_500, maxPendingPerSource: 16, maxPending: 4096 });
  });

  it.each([
    ['handshake_timeout: 5', /proxy_service\.connection_limits\.handshake_timeout: invalid duration "5"/],
    ['handshake_timeout: 0s', /proxy_service\.connection_limits\.handshake_timeout: must be greater than zero/],
    ['max_pending: 0', /proxy_service\.connection_limits\.max_pending: /],
    ['max_pending_per_source: many', /proxy_service\.connection_limits\.max_pending_per_source: /],
    ['max_idle: 3', /proxy_service\.connection_limits\.max_idle: unknown field/],
  ])('names the bad setting in %p', (line, message) => {
    expect(() => loadConfig(file(`proxy_service:\n  connection_limits:\n    ${line}\n`), {})).toThrow(message);
  });
});

describe('db_service.audit_spool', () => {
  it('holds up to 1 GiB by default', () => {
    expect(loadConfig(file('teleport:\n  data_dir: /tmp/x\n'), {}).db.auditSpoolMaxBytes).toBe(1024 ** 3);
  });

  it('reads max_size', () => {
    expect(loadConfig(file('db_service:\n  audit_spool:\n    max_size: 256MiB\n'), {}).db.auditSpoolMaxBytes).toBe(256 * 1024 ** 2);
  });

  it.each([
    ['db_service:\n  audit_spool:\n    max_size: lots\n', /db_service\.audit_spool\.max_size: invalid size "lots"/],
    ['db_service:\n  audit_spool:\n    max_size: 1MB\n', /db_service\.audit_spool\.max_size: must be at least 4MiB/],
    ['db_service:\n  audit_spool:\n    max_bytes: 1GiB\n', /max_bytes/],
  ])('refuses %p', (text, message) => {
    expect(() => loadConfig(file(text), {})).toThrow(message);
  });
});

describe.each([
  ['db_service', (c: ReturnType<typeof loadConfig>) => c.db.workers],
  ['proxy_service', (c: ReturnType<typeof loadConfig>) => c.proxy.workers],
])('%s.workers', (section, workers) => {
  it('is one per two cores by default, at least one and at most eight', () => {
    expect([1, 2, 3, 4, 8, 16, 17, 64].map((cores) => defaultWorkers(cores))).toEqual([1, 1, 1, 2, 4, 8, 8, 8]);
    expect(workers(loadConfig(file('teleport:\n  data_dir: /tmp/x\n'), {}))).toBe(defaultWorkers());
  });

  it('reads workers', () => {
    expect(workers(loadConfig(file(`${section}:\n  workers: 3\n`), {}))).toBe(3);
  });

  it.each(['0', '65', '1.5', '"two"'])('refuses workers: %s', (value) => {
    expect(() => loadConfig(file(`${section}:\n  workers: ${value}\n`), {})).toThrow(new RegExp(`${section}\\.workers`));
  });
});

describe('auth_service.tokens', () => {
  it('reads static tokens as Teleport writes them, keeping the roles this cluster has', () => {
    const tokenFile = join(mkdtempSync(join(tmpdir(), 'cfg-')), 'token');
    writeFileSync(tokenFile, 'from-a-file\n');
    const config = loadConfig(
      file(`auth_service:\n  tokens:\n  - proxy,node,database:cbdeeab9\n  - "db:${tokenFile}"\n  - node:ssh-only\n`),
      {},
    );
    expect(config.auth.staticTokens()).toEqual([
      { roles: ['Proxy', 'Db'], token: 'cbdeeab9' },
      { roles: ['Db'], token: 'from-a-file' },
      { roles: [], token: 'ssh-only' },
    ]);
  });

  it.each([
    ['no roles', 'cbdeeab9', /write a static token as roles:token/],
    ['no token', 'proxy:', /write a static token as roles:token/],
    ['an unknown role', 'proxy,wizard:abc', /unknown role wizard/],
    ['a token file that is not there', 'db:/no/such/file', /cannot read the token file \/no\/such\/file: ENOENT/],
  ])('refuses %s', (_case, entry, message) => {
    expect(() => loadConfig(file(`auth_service:\n  tokens: ["${entry}"]\n`), {}).auth.staticTokens()).toThrow(message);
  });

  it('checks how tokens are written at load, and reads token files only when the auth service asks', () => {
    expect(() => loadConfig(file('auth_service:\n  tokens: ["wizard:/no/such/file"]\n'), {})).toThrow(/unknown role wizard/);
    const config = loadConfig(file('auth_service:\n  tokens: ["proxy:/no/such/file"]\n'), {});
    expect(() => config.auth.staticTokens()).toThrow(/cannot read the token file \/no\/such\/file: ENOENT/);
  });
});

describe('db_service.resources', () => {
  it('reads the label selectors of the db resources to serve', () => {
    const config = loadConfig(file(`db_service:\n  enabled: "yes"\n  resources:\n  - labels: {env: test}\n  - labels: {"*": "*"}\n`), {});
    expect(config.db.resourceSelectors).toEqual([{ env: 'test' }, { '*': '*' }]);
  });
});

describe('teleport.diag_addr', () => {
  it('is where the diagnostics listener goes', () => {
    expect(loadConfig(file(`teleport:\n  diag_addr: 127.0.0.1:3000\n`), {}).diagAddr).toBe('127.0.0.1:3000');
    expect(loadConfig(file(`teleport:\n  data_dir: /tmp/x\n`), {}).diagAddr).toBeUndefined();
  });
});

describe('teleport.log', () => {
  it('reads severity, output and format as Teleport writes them', () => {
    const config = loadConfig(
      file(`teleport:\n  log:\n    output: /var/log/teleport.log\n    severity: debug\n    format:\n      output: json\n`),
      {},
    );
    expect(config.log).toEqual({ severity: 'debug', output: '/var/log/teleport.log', format: 'json' });
    expect(loadConfig(file(`teleport:\n  log:\n    severity: WARNING\n`), {}).log).toEqual({ severity: 'warn', output: 'stderr' });
    expect(loadConfig(file(`version: v3\n`), {}).log).toEqual({ severity: 'info', output: 'stderr' });
  });

  it('refuses a severity it does not know', () => {
    expect(() => loadConfig(file(`teleport:\n  log:\n    severity: LOUD\n`), {})).toThrow(/use DEBUG, INFO, WARN or ERROR/);
  });
});
