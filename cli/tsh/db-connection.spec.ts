import { connectionUri, pgEnv, serviceConninfo, serviceEntries, shellWord, type DbConnection } from './db-connection.js';

const BASE: DbConnection = {
  name: 'aurora',
  service: 'root-aurora',
  host: 'proxy.example.com',
  port: 3080,
  ca: '/home/alice/.tsh/keys/proxy.example.com/certs.pem',
  cert: '/home/alice/.tsh/keys/proxy.example.com/alice-db/root/aurora-x509.pem',
  key: '/home/alice/.tsh/keys/proxy.example.com/alice',
};
const FULL: DbConnection = { ...BASE, user: 'alice', database: 'metrics' };

describe('the connection service file section', () => {
  it('names user and dbname only when the login chose them', () => {
    expect(Object.keys(serviceEntries(BASE))).toEqual(['host', 'port', 'sslmode', 'sslrootcert', 'sslcert', 'sslkey', 'gssencmode']);
    expect(serviceEntries(FULL)).toEqual({
      host: 'proxy.example.com',
      port: '3080',
      user: 'alice',
      dbname: 'metrics',
      sslmode: 'verify-full',
      sslrootcert: FULL.ca,
      sslcert: FULL.cert,
      sslkey: FULL.key,
      gssencmode: 'disable',
    });
  });
});

describe('pgEnv', () => {
  it('gives libpq variables, PGUSER and PGDATABASE when known', () => {
    expect(pgEnv(BASE).map(([k]) => k)).toEqual(['PGHOST', 'PGPORT', 'PGSSLMODE', 'PGSSLROOTCERT', 'PGSSLCERT', 'PGSSLKEY']);
    expect(pgEnv(FULL).slice(-2)).toEqual([
      ['PGUSER', 'alice'],
      ['PGDATABASE', 'metrics'],
    ]);
  });
});

describe('serviceConninfo', () => {
  it('names the service, then user and dbname, quoting values libpq would split', () => {
    expect(serviceConninfo(BASE)).toBe('service=root-aurora');
    expect(serviceConninfo(FULL)).toBe('service=root-aurora user=alice dbname=metrics');
    expect(serviceConninfo({ service: 's', user: "o'brien x", database: '' })).toBe("service=s user='o\\'brien x' dbname=''");
  });
});

describe('connectionUri', () => {
  it('carries everything psql needs without the service file', () => {
    expect(connectionUri(FULL)).toBe(
      'postgres://alice@proxy.example.com:3080/metrics?' +
        `sslrootcert=${FULL.ca}&sslcert=${FULL.cert}&sslkey=${FULL.key}&sslmode=verify-full&gssencmode=disable`,
    );
    expect(connectionUri({ ...BASE, host: '::1', ca: '/a b/ca.pem' })).toMatch(/^postgres:\/\/\[::1\]:3080\?sslrootcert=\/a%20b\/ca\.pem&/);
  });
});

describe('shellWord', () => {
  it('quotes only what a shell would split or expand', () => {
    expect(shellWord('/home/alice/.tsh/certs.pem')).toBe('/home/alice/.tsh/certs.pem');
    expect(shellWord('/a b/$x')).toBe("'/a b/$x'");
    expect(shellWord("it's")).toBe("'it'\\''s'");
  });
});
