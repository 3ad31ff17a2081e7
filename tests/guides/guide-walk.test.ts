// The guide walk: for each guide, the `run` entries of guide-commands.yaml in order, typed as written
// into a shell on the host the guide runs them on (hosts are network namespaces with the guides' own
// names, ports and paths: see walk-hosts.ts), each checked for its exit status and for the output the
// guide shows. What the runner changes in a command is only what a reader fills in: the guide's
// placeholders and elided values (SUBSTITUTE below, per guide). What the guide's prose asks a user to
// do between commands (save a token to a file, copy files to a host, open a signup link) is the
// entry's `given:` and `then:`, run on the same host.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { pgBinDir } from '#libs/testing';
import { standalonePostgresBackend } from '../support/aws/harness.js';
import { Iam } from '../support/aws/iam.js';
import { rdsCertificates, RdsStandIn } from '../support/aws/rds.js';
import { StsStandIn } from '../support/aws/sts.js';
import { BIN, type RunResult } from '../support/cluster.js';
import { makeWebPki } from '../support/web-pki.js';
import { loadEntries, type Entry } from './entries.js';
import { WalkNetwork, type Background, type WalkHost } from './walk-hosts.js';

const entries = loadEntries();

/** Everything in a guide that a reader replaces: placeholders, elided values, an example host name. */
const SUBSTITUTE: Record<string, [string, string][]> = {
  '000': [
    // The guide signs the certificate for db.example.com and then dials postgres.example.com: one host.
    ['postgres.example.com', 'db.example.com'],
    ['/path/to/', '/etc/postgresql-tls/'],
    ['/path/to ', '/etc/postgresql-tls '],
    // The backend to cancel: the one running the query the walk started for it.
    ['<PID>', "(SELECT pid FROM pg_stat_activity WHERE query = 'select pg_sleep(600)')"],
  ],
  '001': [
    // Values the capture elided (links): the cluster's name, the ACME e-mail, --auth-server, --proxy, --uri.
    ['tsh login [email protected]', 'tsh login --proxy=tele.example.com --user=email@example.com'],
    ['--acme [email protected]', '--acme --acme-email=user@example.com --cluster-name=tele.example.com'],
    [
      'teleport db start \\\n  --token=/tmp/token \\\n  \\\n',
      'teleport db start \\\n  --token=/tmp/token \\\n  --auth-server=tele.example.com:443 \\\n',
    ],
    ['-o file \\\n  --token=/tmp/token \\\n  \\\n', '-o file \\\n  --token=/tmp/token \\\n  --proxy=tele.example.com:443 \\\n'],
    ['--protocol=postgres \\\n  \\\n', '--protocol=postgres \\\n  --uri=db.example.com:5432 \\\n'],
    ['hostssl all             all                  cert', 'hostssl all             all             0.0.0.0/0               cert'],
    // "a certificate/key pair for host <elided>": the database host's name.
    ['tctl auth sign --format=db --out=server', 'tctl auth sign --format=db --host=db.example.com --out=server'],
    // The guide names the database test in one step and example in the next: one name.
    ['--name=test', '--name=example'],
    // Its user is alice in one step and testuser in the next: one user.
    ['--user=testuser', '--user=alice'],
    // Step 4 writes the Database Service's file with -o file, then starts it from /path/to/teleport-db.yaml.
    ['/path/to/teleport-db.yaml', '/etc/teleport.yaml'],
    ['/path/toa/', '/etc/postgresql-tls/'],
    ['/path/to/', '/etc/postgresql-tls/'],
    ['/path/to ', '/etc/postgresql-tls '],
  ],
  '002': [
    // The capture elided the user: the Prerequisites' tsh login is guide 000's.
    ['[email protected]', '--user=email@example.com'],
    // The session ID the guide has the reader find in the audit log (key sid).
    ['database.session', '"$(cat /mnt/sid)"'],
  ],
  '003': [
    ['/path/to/', '/etc/teleport-guide/'],
    ['/path/toa/', '/etc/teleport-guide/'],
    ['/path/to ', '/etc/teleport-guide '],
    // The cluster is named after its host (the one-command start names none); the guide's "root" and <cluster>.
    ['service=<cluster>-aurora', 'service=cluster-aurora'],
    ['service=root-aurora', 'service=cluster-aurora'],
  ],
  '004': [
    ['<database>', 'walkdb'],
    ['<PID>', "(SELECT pid FROM pg_stat_activity WHERE query = 'select pg_sleep(600)')"],
  ],
};

/** Passwords the walk sets through signup links, by user. */
const password = (user: string) => `walk-${user}-secret`;

/** Long-running commands: started in the background, each ready once it prints its pattern. */
const LONG_RUNNING: [RegExp, RegExp][] = [
  [/^(sudo )?teleport (db )?start\b/, /the cluster is up|the Database Service is up/],
  [/^tsh proxy db\b/, /Started DB proxy on \S+/],
];

/** The guide's example values in the outputs it shows, as what our output has in their place. */
const EXAMPLE_VALUES: [RegExp, string][] = [
  [/sha256:[0-9a-z-]+/g, 'sha256:[0-9a-f]{64}'],
  [/abcd123-insecure-do-not-use-this/g, '[0-9a-f]{32,}'],
  [/\d+\.\d+\.\d+/g, '\\d+\\.\\d+\\.\\d+'],
  // tsh version's build: Go's version in Teleport's, Node's in ours.
  [/ go1\.\d+/g, '(?: git:\\S+)? (?:go|node)\\S+'],
  // A description the guide's database has and the command it shows does not set.
  [/(Example PostgreSQL|AWS Aurora) /g, '(?:.+ )?'],
  // A table's rule: as wide as its columns.
  [/^-+( +-+)*$/g, '-+(\\s+-+)*'],
];

/**
 * A line of Teleport's output that comes from how its tsh connects rather than from the behaviour shown:
 * psql first trying ::1 for the local proxy Teleport's tsh starts on 127.0.0.1 (ours starts none).
 */
const TELEPORT_LOCAL_PROXY = /^psql: error: connection to server at "localhost" \(::1\), port 12345 failed: Connection refused$/;

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** In an audit event the guide shows, the fields whose values are the behaviour, not the example's. */
const EVENT_FIELDS = ['code', 'event', 'db_protocol', 'db_type', 'success'];

/** An audit event the guide shows: one of ours with the same event has its fields, these values alike. */
function eventAsGuide(actual: string, shown: Record<string, unknown>): string | undefined {
  const parsed = JSON.parse(actual) as unknown;
  const events = (Array.isArray(parsed) ? parsed : [parsed]) as Record<string, unknown>[];
  const ours = events.find((e) => e.event === shown.event);
  if (!ours) return `no ${String(shown.event)} event`;
  const missing = Object.keys(shown).filter((k) => !(k in ours));
  if (missing.length) return `the ${String(shown.event)} event has no ${missing.join(', ')}`;
  const differ = EVENT_FIELDS.filter((k) => k in shown && JSON.stringify(ours[k]) !== JSON.stringify(shown[k]));
  return differ.length
    ? `the ${String(shown.event)} event differs in ${differ.map((k) => `${k} (${JSON.stringify(ours[k])})`).join(', ')}`
    : undefined;
}

/**
 * Whether `actual` shows what the guide shows (undefined), or how it does not: each line the guide shows,
 * in order, with the guide's example values standing for ours and runs of spaces for any, is within a
 * line of `actual`; an audit event the guide shows is compared by its fields.
 */
export function showsAsGuide(actual: string, shown: string): string | undefined {
  if (shown.trim().startsWith('{')) return eventAsGuide(actual, JSON.parse(shown) as Record<string, unknown>);
  const lines = actual.split('\n').map((l) => l.trim().replace(/\s+/g, ' '));
  let at = 0;
  for (const raw of shown.split('\n')) {
    const line = raw.replace(/^# /, '').trim().replace(/\s+/g, ' ');
    if (!line || line === '...' || TELEPORT_LOCAL_PROXY.test(line)) continue;
    // Keep the example values' own patterns out of the escaping: mark them first.
    const marks: string[] = [];
    let marked = line;
    for (const [pattern, replacement] of EXAMPLE_VALUES) {
      marked = marked.replace(pattern, () => `\u0000${marks.push(replacement) - 1}\u0000`);
    }
    const source = escapeRegExp(marked)
      .replace(/ /g, '\\s+')
      .replace(/\u0000(\d+)\u0000/g, (_, i: string) => marks[Number(i)]!);
    // Within a line: psql prints a server's error after its own prefix.
    const re = new RegExp(source);
    const found = lines.findIndex((l, i) => i >= at && re.test(l));
    if (found < 0) return `no line like ${JSON.stringify(line)} (as /${re.source}/) after line ${at}`;
    at = found + 1;
  }
  return undefined;
}

function substitute(guide: string, text: string): string {
  let out = text;
  for (const [from, to] of SUBSTITUTE[guide] ?? []) out = out.split(from).join(to);
  return out;
}

const oneLine = (text: string) =>
  text
    .trim()
    .replace(/\\\n\s*/g, ' ')
    .replace(/\s+/g, ' ');

/** Our checkout's teleport, tctl and tsh, installed on a host where the guides' installers put them. */
async function install(host: WalkHost): Promise<void> {
  for (const [name, main] of Object.entries(BIN)) {
    await must(
      host,
      `cat > /usr/local/bin/${name} && chmod 755 /usr/local/bin/${name}`,
      `#!/bin/sh\nexec ${process.execPath} ${main} "$@"\n`,
    );
  }
  // node on the PATH of sudo and of the units (it may be there already, as on a machine whose Node is in /usr/local).
  await must(host, `[ "$(readlink -f /usr/local/bin/node)" = ${process.execPath} ] || ln -sf ${process.execPath} /usr/local/bin/node`);
  await must(host, 'cat > /usr/local/bin/walk-signup && chmod 755 /usr/local/bin/walk-signup', SIGNUP);
}

/** A CA every host trusts, and the proxy's certificate from it (https_keypairs) for `names`. */
async function publicPki(dir: string, names: string[]): Promise<{ ca: string; cert: string; key: string }> {
  await makeWebPki(dir, names);
  const read = (f: string) => readFileSync(join(dir, f), 'utf8');
  return { ca: read('ca.crt'), cert: read('proxy.crt'), key: read('proxy.key') };
}

/** Runs a shell command line on a host; fails the test with its output unless it succeeds. */
async function must(host: WalkHost, command: string, inputOrEnv?: string | Record<string, string>): Promise<string> {
  const r = await host.run(command, typeof inputOrEnv === 'string' ? { input: inputOrEnv } : { env: inputOrEnv ?? {} });
  if (r.code !== 0) throw new Error(`on ${host.name}: '${command}' exited ${r.code}:\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

/** What a reader does with a `writes:` entry: the file it names, or a resource for tctl create. */
async function applyWrite(world: World, guide: string, entry: Entry, text: string): Promise<void> {
  const host = world.net.host(entry.on ?? 'cluster');
  const target = substitute(guide, entry.writes!);
  if (target === 'postgresql.conf' || target === 'pg_hba.conf') {
    const file = `${world.pgData}/${target}`;
    // pg_hba.conf: the guide's lines are the ones that let clients in; postgresql.conf: appended settings.
    if (target === 'pg_hba.conf') await must(host, `cat > ${file} && echo 'local all all peer' >> ${file}`, text);
    else await must(host, `cat >> ${file}`, text);
    return;
  }
  if (target.startsWith('(stdin of tctl create)')) {
    await must(host, 'tctl create -f', text);
    return;
  }
  if (target.startsWith('/etc/teleport.yaml (db_service section')) {
    // The section replaces the one the file has; the Database Service then restarts to read it.
    const config = parse(await must(host, 'cat /etc/teleport.yaml')) as Record<string, unknown>;
    await must(host, 'cat > /etc/teleport.yaml', stringify({ ...config, ...(parse(text) as Record<string, unknown>) }));
    const running = world.teleport.get(host.name);
    if (running) await startTeleport(world, host, running.command);
    return;
  }
  if (target.startsWith('(the spec section of a role')) {
    await must(host, 'tctl create -f', `kind: role\nversion: v3\nmetadata:\n  name: walk-templates\n${text}`);
    return;
  }
  if (/teleport\.yaml$/.test(target) && /proxy_service:\n\s+enabled: "yes"/.test(text)) {
    // The guide: "For production usage make sure to configure proxy with a proper certificate/key pair."
    const config = parse(text) as { proxy_service: Record<string, unknown> };
    config.proxy_service.https_keypairs = [{ key_file: '/etc/teleport/proxy.key', cert_file: '/etc/teleport/proxy.crt' }];
    await must(host, `mkdir -p "$(dirname ${target})" && cat > ${target}`, stringify(config));
    return;
  }
  if (target.startsWith("(the allow section of your Teleport user's role)")) {
    // A role of its own, which tctl create checks (the walk's tctl acts with the admin identity, which needs no impersonation).
    const indented = text.replace(/^/gm, '  ');
    await must(host, 'tctl create -f', `kind: role\nversion: v7\nmetadata:\n  name: walk-${entry.step.length}\nspec:\n${indented}`);
    return;
  }
  await must(host, `mkdir -p "$(dirname ${target})" && cat > ${target}`, text);
}

interface World {
  net: WalkNetwork;
  pgData: string;
  background: Background[];
  /** The teleport process each host runs, restarted when its /etc/teleport.yaml changes. */
  teleport: Map<string, { command: string; process: Background }>;
  /** Where the guide's SQL statements run (default: psql as the admin on the database host). */
  sql?: (statement: string) => Promise<RunResult>;
  cleanup: (() => Promise<void>)[];
}

const READY = /the cluster is up|the Database Service is up/;

/** Starts `teleport start ...` on a host (in place of one it runs already) and waits until it is up. */
async function startTeleport(world: World, host: WalkHost, command: string): Promise<string> {
  await world.teleport.get(host.name)?.process.stop();
  const started = host.start(command);
  world.background.push(started);
  world.teleport.set(host.name, { command, process: started });
  return started.waitFor(READY, 90_000);
}

/** Shell lines on the entry's host; a line `db$ ...` runs on the host named before the `$`. */
async function runLines(world: World, host: WalkHost, guide: string, lines: string, env: Record<string, string>): Promise<void> {
  for (const line of substitute(guide, lines)
    .split('\n')
    .filter((l) => l.trim())) {
    const other = /^(\w+)\$ (.*)$/.exec(line);
    if (other?.[1] === 'sql' && world.sql) {
      const r = await world.sql(other[2]!);
      if (r.code !== 0) throw new Error(`'${other[2]}' failed: ${r.stderr}`);
    } else await must(other ? world.net.host(other[1]!) : host, other ? other[2]! : line, env);
  }
}

/** Per guide: the hosts and the prerequisites the guide starts from (a running cluster, a PostgreSQL). */
const WORLDS: Record<string, () => Promise<World>> = {
  '000': async () => {
    const cluster = ['teleport.example.com', 'example.teleport.sh', 'mytenant.teleport.sh'];
    const net = await WalkNetwork.create({ cluster, db: ['db.example.com'] });
    return prepare(net, cluster);
  },
  '001': acmeWorld,
  '002': rdsWorld,
  '003': auroraWorld,
  '004': provisioningWorld,
};

/**
 * Guide 004's prerequisites: the Database Service of guide 000 (configured, joined, serving "example"
 * at localhost:5432 on the database host), PostgreSQL with TLS from tctl auth sign, the database roles
 * the guide's Teleport roles name (reader) and RDS's rds_iam, a database for <database>, and a Teleport
 * user named as the OS user (root), whom tsh login picks.
 */
async function provisioningWorld(): Promise<World> {
  const cluster = ['teleport.example.com'];
  const world = await prepare(await WalkNetwork.create({ cluster, db: ['db.example.com'] }), cluster);
  const [proxy, db] = [world.net.host('cluster'), world.net.host('db')];
  await signup(proxy, await must(proxy, 'tctl users add root --roles=access'), 'root');
  await must(proxy, 'tctl auth sign --format=db --host=localhost --out=/mnt/server --ttl=2190h');
  await must(db, 'mkdir -p /etc/postgresql-tls && install -o postgres -g postgres -m 600 /mnt/server.* /etc/postgresql-tls/');
  const conf = `ssl = on\nssl_cert_file = '/etc/postgresql-tls/server.crt'\nssl_key_file = '/etc/postgresql-tls/server.key'\nssl_ca_file = '/etc/postgresql-tls/server.cas'\n`;
  await must(db, `cat >> ${world.pgData}/postgresql.conf`, conf);
  await must(
    db,
    `printf 'hostssl all all ::/0 cert\\nhostssl all all 0.0.0.0/0 cert\\nlocal all all peer\\n' > ${world.pgData}/pg_hba.conf`,
  );
  await restartPostgres(world);
  await must(
    db,
    'runuser -u postgres -- psql -X -v ON_ERROR_STOP=1 -d postgres',
    'CREATE ROLE rds_iam; CREATE ROLE reader; CREATE SCHEMA schema1; CREATE SCHEMA schema2; CREATE SCHEMA schema3; CREATE DATABASE walkdb;',
  );
  await must(proxy, 'tctl tokens add --type=db --format=text > /mnt/token');
  await must(
    db,
    'teleport db configure create -o file --token=/mnt/token --proxy=teleport.example.com:443 --name=example --protocol=postgres --uri=localhost:5432',
  );
  await startTeleport(world, db, 'teleport start --config=/etc/teleport.yaml');
  return world;
}

/**
 * Every guide's hosts: our binaries installed, a CA they all trust, the proxy's certificate from it in
 * /etc/teleport on the cluster host, and an initialized PostgreSQL on the database host. With
 * `runningCluster`, the cluster the guide starts from, with a user who may run tctl.
 */
/** Aurora's endpoints in guide 003, served by RDS stand-ins (IAM tokens checked) that this process runs. */
const AURORA = [
  { name: 'postgres-aurora-instance-1.abcdefghijklm.us-west-1.rds.amazonaws.com', region: 'us-west-1' },
  { name: 'postgres-aurora-instance-1.xxx.us-east-1.rds.amazonaws.com', region: 'us-east-1' },
];

/**
 * Guide 003: the cluster host (the guide's one-command cluster first, then its teleport.yaml, on the
 * same data dir, so the cluster keeps the name it was created with) and the database host; Aurora
 * on this machine (its PostgreSQL behind RDS stand-ins that accept IAM tokens, and an STS stand-in),
 * whose "RDS CA" the hosts trust and whose AWS credentials the cluster and database hosts have in
 * ~/.aws, as an EC2 instance would have them from its role. The guide creates the cluster itself.
 */
async function auroraWorld(): Promise<World> {
  const cluster = ['teleport.example.com'];
  const net = await WalkNetwork.create(
    { cluster, db: ['db.example.com'] },
    AURORA.map((a) => a.name),
  );
  const world = await prepare(net, cluster, false);
  await startAurora(world, '003', AURORA);
  return world;
}

/**
 * Guide 001: guide 000's hosts, and an ACME CA (pebble, Let's Encrypt's test server) on the cluster host
 * at acme.walk, whose roots every host trusts as they trust Let's Encrypt's. The guide reconfigures the
 * cluster it starts from for ACME.
 */
async function acmeWorld(): Promise<World> {
  const net = await WalkNetwork.create({ cluster: ['tele.example.com', 'acme.walk'], db: ['db.example.com'] });
  const world = await prepare(net, ['tele.example.com', 'acme.walk']);
  const cluster = net.host('cluster');
  const config = {
    pebble: {
      listenAddress: '0.0.0.0:14000',
      managementListenAddress: '127.0.0.1:15000',
      certificate: '/etc/teleport/proxy.crt',
      privateKey: '/etc/teleport/proxy.key',
      httpPort: 80,
      tlsPort: 443,
      ocspResponderURL: '',
      externalAccountBindingRequired: false,
    },
  };
  await must(cluster, 'mkdir -p /etc/pebble && cat > /etc/pebble/config.json', JSON.stringify(config));
  // No random waits, no refused nonces: the CA's behaviour without its test-time chaos.
  const pebble = cluster.start('PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 exec pebble -config /etc/pebble/config.json');
  world.background.push(pebble);
  await pebble.waitFor(/ACME directory available/, 30_000);
  const root = await must(
    cluster,
    `node -e "require('https').get('https://127.0.0.1:15000/roots/0', { rejectUnauthorized: false }, (r) => r.pipe(process.stdout))"`,
  );
  for (const host of net.hosts.values()) await must(host, 'cat >> /etc/ssl/certs/ca-certificates.crt', root);
  return world;
}

/** Guide 002: guide 000's cluster, and the Aurora of guide 003 (its us-west-1 endpoint). */
async function rdsWorld(): Promise<World> {
  const cluster = ['teleport.example.com', 'mytenant.teleport.sh'];
  const net = await WalkNetwork.create({ cluster, db: ['db.example.com'] }, [AURORA[0]!.name]);
  const world = await prepare(net, cluster);
  await startAurora(world, '002', [AURORA[0]!]);
  return world;
}

/** Aurora on this machine for a guide: a PostgreSQL behind RDS stand-ins at `endpoints`, and STS. */
async function startAurora(world: World, guide: string, endpoints: typeof AURORA): Promise<void> {
  const { net } = world;
  const iam = new Iam();
  const key = iam.user('teleport-host');
  const sts = await new StsStandIn(iam).start(net.uplinkAddr);
  const backend = await standalonePostgresBackend(net.dir);
  world.sql = async (statement) => {
    try {
      return { code: 0, stdout: await backend.pg.psql(statement), stderr: '' };
    } catch (err) {
      return { code: 1, stdout: '', stderr: (err as Error).message };
    }
  };
  await backend.pg.psql('CREATE ROLE rds_iam; CREATE DATABASE metrics; GRANT rds_iam TO postgres;');
  const certs = await rdsCertificates(endpoints.map((a) => a.name));
  const rds = await Promise.all(
    endpoints.map((a) =>
      RdsStandIn.start(
        { iam, region: a.region, backend: backend.backend, allowConnect: [key.arn], listen: { address: net.uplinkAddr!, name: a.name } },
        certs,
      ),
    ),
  );
  world.cleanup.push(async () => {
    await Promise.all([...rds.map((r) => r.stop()), sts.stop()]);
    await backend.pg.stop();
  });
  // Aurora's port is the stand-in's, not 5432.
  for (const [i, a] of endpoints.entries()) SUBSTITUTE[guide]!.push([`${a.name}:5432`, `${a.name}:${rds[i]!.port}`]);
  const awsConfig = `[default]\nregion = us-west-1\nservices = walk\n\n[services walk]\nsts =\n  endpoint_url = ${sts.url}\n`;
  const awsCredentials = `[default]\naws_access_key_id = ${key.accessKeyId}\naws_secret_access_key = ${key.secretAccessKey}\n`;
  for (const host of net.hosts.values()) {
    await must(host, 'cat >> /etc/ssl/certs/ca-certificates.crt', certs.caPem);
    await must(host, 'mkdir -p /root/.aws && cat > /root/.aws/config', awsConfig);
    await must(host, 'cat > /root/.aws/credentials', awsCredentials);
  }
}

async function prepare(net: WalkNetwork, proxyNames: string[], runningCluster = true): Promise<World> {
  const pki = await publicPki(net.dir, proxyNames);
  const world: World = { net, pgData: '/var/lib/postgresql/walk', background: [], teleport: new Map(), cleanup: [] };
  for (const host of net.hosts.values()) {
    await install(host);
    await must(host, 'cat >> /etc/ssl/certs/ca-certificates.crt', pki.ca);
  }
  const cluster = net.host('cluster');
  await must(cluster, 'mkdir -p /etc/teleport && cat > /etc/teleport/proxy.key && chmod 600 /etc/teleport/proxy.key', pki.key);
  await must(cluster, 'cat > /etc/teleport/proxy.crt', pki.cert);
  if (runningCluster) await startCluster(world, proxyNames);
  // A PostgreSQL server on the database host, configured by the guide's steps.
  const db = net.host('db');
  const pgBin = pgBinDir();
  await must(db, `mkdir -p ${world.pgData} /run/postgresql && chown postgres: ${world.pgData} /run/postgresql`);
  await must(db, `runuser -u postgres -- ${pgBin}/initdb -D ${world.pgData} -U postgres --auth=peer -E UTF8 --locale=C >/dev/null`);
  await must(db, `echo "listen_addresses = '*'" >> ${world.pgData}/postgresql.conf`);
  return world;
}

async function startCluster(world: World, proxyNames: string[]): Promise<void> {
  const cluster = world.net.host('cluster');
  await must(
    cluster,
    'cat > /etc/teleport.yaml',
    [
      'version: v3',
      'teleport:',
      '  data_dir: /var/lib/teleport',
      'auth_service:',
      `  cluster_name: ${proxyNames[0]}`,
      'proxy_service:',
      '  web_listen_addr: 0.0.0.0:443',
      `  public_addr: [${proxyNames.map((n) => `${n}:443`).join(', ')}]`,
      '  https_keypairs:',
      '  - key_file: /etc/teleport/proxy.key',
      '    cert_file: /etc/teleport/proxy.crt',
      '',
    ].join('\n'),
  );
  await startTeleport(world, cluster, 'teleport start');
  // The guide's reader: a user of the cluster who may run tctl (the guide's prerequisite).
  const out = await must(cluster, 'tctl users add email@example.com --roles=editor,access');
  await signup(cluster, out, 'email@example.com');
}

/** What a user does with the signup link tctl users add prints: opens it (past a self-signed certificate, as a browser lets one) and sets a password. */
const SIGNUP = `#!/usr/local/bin/node
// walk-signup USER PASSWORD < output of tctl users add
const [user, password] = process.argv.slice(2);
let text = '';
process.stdin.on('data', (d) => (text += d)).on('end', () => {
  const link = /https:\\/\\/(\\S+)\\/web\\/invite\\/([0-9a-f]+)/.exec(text);
  if (!link) { console.error('no signup link for ' + user + ' in:\\n' + text); process.exit(1); }
  const body = JSON.stringify({ token: link[2], password });
  const [host, port] = link[1].split(':');
  const req = require('node:https').request({ host, port: port || 443, method: 'PUT', path: '/v1/webapi/users/password/token', rejectUnauthorized: false, headers: { 'content-type': 'application/json', 'content-length': body.length } }, (res) => {
    if (res.statusCode !== 200) { console.error('signup of ' + user + ': HTTP ' + res.statusCode); process.exit(1); }
  });
  req.end(body);
});
`;

async function signup(host: WalkHost, tctlOutput: string, user: string): Promise<void> {
  await must(host, `walk-signup ${user} ${password(user)}`, tctlOutput);
}

/** The pg_ctl of the database host's PostgreSQL, (re)started after the guide configured it. */
async function restartPostgres(world: World): Promise<void> {
  const db = world.net.host('db');
  const pgCtl = `runuser -u postgres -- ${pgBinDir()}/pg_ctl -D ${world.pgData} -l ${world.pgData}/log -w`;
  await must(
    db,
    `{ ${pgCtl} status >/dev/null && ${pgCtl} restart -m fast || ${pgCtl} start; } >/dev/null || { cat ${world.pgData}/log; exit 1; }`,
  );
}

// WALK_GUIDES=004 walks one guide (while working on it).
const GUIDES = process.env.WALK_GUIDES?.split(',') ?? ['000', '001', '002', '003', '004'];

function exitsAsGuide(code: number, entry: Entry, out: string): void {
  if (code !== (entry.exits ?? 0)) throw new Error(`exited ${code}, not ${entry.exits ?? 0}; it printed:\n${out}`);
}

/** Runs one entry on its host; returns what it printed. */
async function walk(world: World, guide: string, entry: Entry, previous: string): Promise<string> {
  const host = world.net.host(entry.on ?? 'cluster');
  if (entry.given) await runLines(world, host, guide, entry.given, { OUT: previous });
  const text = substitute(guide, entry.command);
  let out = '';
  if (entry.writes) {
    await applyWrite(world, guide, entry, text);
    if (entry.writes === 'pg_hba.conf') await restartPostgres(world);
  } else if (/^(SELECT|CREATE|GRANT|ALTER)\b/.test(text)) {
    // A statement typed into psql, connected as the database's admin on its host.
    const r = world.sql
      ? await world.sql(text)
      : await world.net.host('db').run(`runuser -u postgres -- psql -X -v ON_ERROR_STOP=1 -d postgres`, { input: text });
    out = r.stdout + r.stderr;
    exitsAsGuide(r.code, entry, out);
  } else {
    const long = LONG_RUNNING.find(([cmd]) => cmd.test(text.trim()));
    if (long && /teleport/.test(text)) {
      out = await startTeleport(world, host, text);
    } else if (long) {
      const bg = host.start(text);
      world.background.push(bg);
      out = await bg.waitFor(long[1], 90_000);
    } else {
      // tsh login asks for the password of --user, or of the login name (root, on these hosts).
      const login = /^tsh login\b/.test(text) && (/--user=(\S+)/.exec(text)?.[1] ?? 'root');
      const input = entry.input ?? (login ? `${password(login)}\n` : '');
      // What tsh db ls lists follows the Database Services' heartbeats: the guide's table, within seconds.
      const retries = entry.shows && /^tsh db ls\b/.test(text) ? 30 : 1;
      for (let attempt = 1; ; attempt++) {
        const r = await host.run(text, { input });
        out = r.stdout + r.stderr;
        exitsAsGuide(r.code, entry, out);
        if (!entry.shows || attempt >= retries || showsAsGuide(out, substitute(guide, entry.shows)) === undefined) break;
        await new Promise((r) => setTimeout(r, 500));
      }
      // The user is the first argument that is not a flag.
      const words = oneLine(text)
        .replace(/^sudo /, '')
        .split(' ');
      const invite = words.slice(0, 3).join(' ') === 'tctl users add' && words.slice(3).find((a) => !a.startsWith('-'));
      if (invite) await signup(host, out, invite);
      // systemctl is not on these hosts: start the unit's ExecStart as systemd would.
      const unit = /^(?:sudo )?teleport install systemd -o (\S+)/.exec(oneLine(text));
      if (unit) await startTeleport(world, host, (await must(host, `sed -n 's/^ExecStart=//p' ${unit[1]}`)).trim());
    }
    const unlike = entry.shows && showsAsGuide(out, substitute(guide, entry.shows));
    if (unlike) throw new Error(`${unlike}; it printed:\n${out}`);
  }
  if (entry.then) await runLines(world, host, guide, entry.then, { OUT: out });
  return out;
}

it('has hosts and prerequisites for every guide of the data file', () => {
  expect(Object.keys(WORLDS).sort()).toEqual([...new Set(entries.map((e) => e.guide))].sort());
});

describe.each(GUIDES)('guide %s', (guide) => {
  let world: World;
  let previous = '';
  const steps = entries.filter((e) => e.guide === guide && e.verdict === 'run');

  beforeAll(async () => {
    world = await WORLDS[guide]!();
  }, 180_000);
  afterAll(async () => {
    if (!world) return;
    await must(
      world.net.host('db'),
      `runuser -u postgres -- ${pgBinDir()}/pg_ctl -D ${world.pgData} -m immediate stop >/dev/null 2>&1 || true`,
    ).catch(() => undefined);
    await world.net.remove();
    for (const cleanup of world.cleanup) await cleanup();
  }, 60_000);

  it.each(steps.map((e) => [oneLine(e.writes ? `(writes ${e.writes})` : e.command).slice(0, 100), e] as const))(
    '%s',
    async (_, entry) => {
      previous = await walk(world, guide, entry, previous);
    },
    120_000,
  );
});
