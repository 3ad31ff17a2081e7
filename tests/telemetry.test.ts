// What an operator sees of one session without reading code: the proxy's and the Database Service's
// Prometheus metrics count it and exactly its statements, a denied connection counts as a denial; with
// an OTLP/HTTP receiver, the connection is one trace across the proxy, the broker and the Database
// Service, parent links intact; and neither the spans nor the info logs hold the statements' text.
import { createServer, get, type Server } from 'node:http';
import { join } from 'node:path';
import { freePort, httpsInsecure, type PostgresCluster } from '#libs/testing';
import { BIN, TestCluster } from './support/cluster.js';
import { loginUser, startClusterPostgres, startDbService, type DbServiceProcess } from './support/data-plane.js';
import { eventually } from './support/provisioning.js';
import { psql } from './support/psql.js';

const SECRET = 'hunter2-do-not-log';

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes?: { key: string; value: Record<string, unknown> }[];
}

/** An OTLP/HTTP trace receiver (JSON), keeping every span with its resource's service.name. */
class OtlpReceiver {
  readonly spans: (OtlpSpan & { service: string })[] = [];
  readonly bodies: string[] = [];
  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(): Promise<OtlpReceiver> {
    const port = await freePort();
    let receiver: OtlpReceiver | undefined;
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        if (req.url === '/v1/traces') receiver!.take(body);
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    receiver = new OtlpReceiver(server, `http://127.0.0.1:${port}`);
    return receiver;
  }

  private take(body: string): void {
    this.bodies.push(body);
    const parsed = JSON.parse(body) as {
      resourceSpans: {
        resource: { attributes: { key: string; value: { stringValue?: string } }[] };
        scopeSpans: { spans: OtlpSpan[] }[];
      }[];
    };
    for (const rs of parsed.resourceSpans) {
      const service = rs.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue ?? '';
      for (const ss of rs.scopeSpans) for (const span of ss.spans) this.spans.push({ ...span, service });
    }
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

function scrape(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path: '/metrics', timeout: 5_000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`/metrics answered ${res.statusCode}`))));
    }).on('error', reject);
  });
}

/** The value of one Prometheus sample: `name{labels...}` with every label in `labels`; 0 when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})? (\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) total += Number(m[3]);
  }
  return total;
}

let cluster: TestCluster;
let postgres: PostgresCluster;
let service: DbServiceProcess;
let receiver: OtlpReceiver;
let proxyDiag: number;
let dbDiag: number;
let serviceFile: string;

beforeAll(async () => {
  receiver = await OtlpReceiver.start();
  proxyDiag = await freePort();
  dbDiag = await freePort();
  const otel = [`OTEL_EXPORTER_OTLP_ENDPOINT=${receiver.url}`, 'OTEL_BSP_SCHEDULE_DELAY=200'];
  cluster = await TestCluster.start({
    clusterName: 'observed',
    command: (config) => ['env', ...otel, process.execPath, BIN.teleport, 'start', '-c', config, `--diag-addr=127.0.0.1:${proxyDiag}`],
  });
  postgres = await startClusterPostgres(cluster);
  await postgres.psql('CREATE USER alice;');
  service = await startDbService(
    cluster,
    { name: 'example', uri: `localhost:${postgres.port}` },
    { diagAddr: `127.0.0.1:${dbDiag}`, env: Object.fromEntries(otel.map((kv) => kv.split('=') as [string, string])) },
  );
  await loginUser(cluster, 'alice', ['--roles=access', '--db-users=alice', '--db-names=*']);
  serviceFile = join(cluster.dir, 'pg_service.conf');
  const login = await cluster.tsh(['db', 'login', '--db-user=alice', '--db-name=postgres', 'example'], {
    env: { PGSERVICEFILE: serviceFile },
  });
  expect(login.code).toBe(0);
});
afterAll(async () => {
  await service?.stop();
  await postgres?.stop();
  await cluster?.stop();
  await receiver?.stop();
});

it('counts the session and exactly its statements at the proxy and the Database Service, and a denial', async () => {
  const statements = ['select 1;', `select '${SECRET}' as secret;`, 'create temporary table t (x int);', 'insert into t values (1), (2);'];
  const ran = await psql(['-X', '-v', 'ON_ERROR_STOP=1', 'service=observed-example'], {
    input: statements.join('\n') + '\n',
    env: { PGSERVICEFILE: serviceFile },
  });
  expect(ran.stderr).toBe('');
  expect(ran.code).toBe(0);

  const example = { dbaccess_database: 'example' };
  for (const port of [proxyDiag, dbDiag]) {
    await eventually(async () => {
      const metrics = await scrape(port);
      expect(sample(metrics, 'dbaccess_statements_total', example)).toBe(statements.length);
      expect(sample(metrics, 'dbaccess_sessions_started_total', example)).toBe(1);
      expect(sample(metrics, 'dbaccess_sessions_ended_total', { ...example, dbaccess_outcome: 'closed' })).toBe(1);
      expect(sample(metrics, 'dbaccess_sessions_active', example)).toBe(0);
      expect(sample(metrics, 'dbaccess_session_io_total', { ...example, network_io_direction: 'receive' })).toBeGreaterThan(0);
      expect(sample(metrics, 'dbaccess_session_setup_duration_count', example)).toBe(1);
    });
  }
  const db = await scrape(dbDiag);
  expect(sample(db, 'dbaccess_audit_events_queued_total')).toBeGreaterThan(statements.length);
  await eventually(async () =>
    expect(sample(await scrape(dbDiag), 'dbaccess_audit_events_published_total')).toBe(sample(db, 'dbaccess_audit_events_queued_total')),
  );
  expect(sample(db, 'dbaccess_nats_connected')).toBeGreaterThan(0);
  const control = await scrape(proxyDiag);
  expect(sample(control, 'rpc_server_call_duration_count', { rpc_method: 'broker.sessions.authorize' })).toBe(1);
  expect(sample(control, 'v8js_memory_heap_used')).toBeGreaterThan(0);
  await eventually(async () =>
    expect(sample(await scrape(proxyDiag), 'dbaccess_audit_events_indexed_total')).toBeGreaterThan(statements.length),
  );

  // A database user alice's role does not allow: the broker refuses, the proxy counts the denial.
  const denied = await psql(['-X', '-c', 'select 1', 'service=observed-example', 'user=postgres'], { env: { PGSERVICEFILE: serviceFile } });
  expect(denied.code).not.toBe(0);
  expect(sample(await scrape(proxyDiag), 'dbaccess_access_denials_total', { dbaccess_stage: 'authorize' })).toBe(1);
  expect(sample(await scrape(proxyDiag), 'dbaccess_sessions_started_total', example)).toBe(1);
});

it('makes one connection one trace across the proxy, the broker and the Database Service, without SQL', async () => {
  const ran = await psql(['-X', '-c', `select '${SECRET}'`, 'service=observed-example'], { env: { PGSERVICEFILE: serviceFile } });
  expect(ran.code).toBe(0);
  const trace = await eventually(async () => {
    const roots = receiver.spans.filter((s) => s.name === 'postgres session' && !s.parentSpanId);
    const root = roots.at(-1);
    expect(root).toBeDefined();
    const spans = receiver.spans.filter((s) => s.traceId === root!.traceId);
    expect(spans.map((s) => s.name)).toEqual(expect.arrayContaining(['first query']));
    return spans;
  }, 20_000);
  const names = (service: string) =>
    trace
      .filter((s) => s.service === service)
      .map((s) => s.name)
      .sort();
  expect(names('dbaccess-auth-proxy')).toEqual(
    expect.arrayContaining([
      'postgres session',
      'tls handshake',
      'broker.sessions.authorize',
      'pick database service',
      'broker.sessions.start',
    ]),
  );
  // The broker's own spans: the server side of the proxy's request and of the Database Service's.
  const server = trace.filter((s) => s.kind === 2).map((s) => `${s.service} ${s.name}`);
  expect(server).toEqual(
    expect.arrayContaining([
      'dbaccess-auth-proxy postgres session',
      'dbaccess-auth-proxy broker.sessions.authorize',
      'dbaccess-auth-proxy broker.sessions.start',
      'dbaccess-db serve postgres session',
    ]),
  );
  expect(names('dbaccess-db')).toEqual(
    expect.arrayContaining(['serve postgres session', 'broker.sessions.start', 'connect upstream', 'first query']),
  );
  // One root; every other span's parent is in the trace.
  const ids = new Set(trace.map((s) => s.spanId));
  expect(trace.filter((s) => !s.parentSpanId)).toHaveLength(1);
  for (const span of trace.filter((s) => s.parentSpanId)) expect(ids).toContain(span.parentSpanId);
  // The Database Service's session span continues the proxy's session span.
  const root = trace.find((s) => !s.parentSpanId)!;
  expect(trace.find((s) => s.name === 'serve postgres session')!.parentSpanId).toBe(root.spanId);
  for (const body of receiver.bodies) {
    expect(body).not.toContain(SECRET);
    expect(body.toLowerCase()).not.toContain('select');
  }
});

it('makes a web API request a span, named by its route and never its path', async () => {
  const listed = await cluster.tsh(['db', 'ls']);
  expect(listed.code).toBe(0);
  const request = await eventually(async () => {
    const found = receiver.spans.filter((s) => s.kind === 2 && /^GET \/v1\/webapi\/dbs$/.test(s.name));
    expect(found.length).toBeGreaterThan(0);
    return found.at(-1)!;
  }, 20_000);
  const attribute = (key: string) => request.attributes?.find((a) => a.key === key)?.value;
  expect(attribute('http.route')).toEqual({ stringValue: '/v1/webapi/dbs' });
  expect(attribute('http.response.status_code')).toEqual({ intValue: 200 });
  // Its bus requests (the guard's roles and locks, the handler's database list) are its children,
  // on the proxy's side and on the answering services'.
  const children = await eventually(async () => {
    const found = receiver.spans.filter((s) => s.traceId === request.traceId && s.spanId !== request.spanId);
    expect(found.map((s) => `${s.kind} ${s.name}`).sort()).toEqual(
      ['auth.locks.list', 'auth.roles.list', 'inventory.dbs.list'].flatMap((name) => [`2 ${name}`, `3 ${name}`]).sort(),
    );
    return found;
  }, 20_000);
  for (const client of children.filter((s) => s.kind === 3)) expect(client.parentSpanId).toBe(request.spanId);
  for (const server of children.filter((s) => s.kind === 2))
    expect(children.find((c) => c.kind === 3 && c.name === server.name)!.spanId).toBe(server.parentSpanId);
  // The signup link's token is in its path: its span says only the route.
  const invite = await cluster.tctl(['users', 'add', 'carol', '--roles=access']);
  const link = /https:\/\/\S+\/web\/invite\/([0-9a-f]+)/.exec(invite.stdout)!;
  expect((await httpsInsecure(`https://${cluster.proxyAddr}/web/invite/${link[1]}`, 'GET')).status).toBe(200);
  const signup = await eventually(async () => {
    const found = receiver.spans.find((s) => s.name.startsWith('GET /web/'));
    expect(found).toBeDefined();
    return found!;
  }, 20_000);
  expect(JSON.stringify(signup)).not.toContain(link[1]);
});

it('writes nothing of the statements to the logs at info level', () => {
  for (const logs of [cluster.logs(), service.logs()]) {
    expect(logs).not.toContain(SECRET);
    expect(logs.toLowerCase()).not.toContain('select ');
  }
});
