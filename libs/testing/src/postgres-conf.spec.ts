import { confString, harnessConf, PG_HBA } from './postgres-conf.js';

describe('PG_HBA', () => {
  it('trusts only the unix socket and requires a client certificate on every TCP connection', () => {
    expect(PG_HBA.split('\n')).toEqual(['local all all trust', 'hostssl all all ::/0 cert', 'hostssl all all 0.0.0.0/0 cert', '']);
  });
});

describe('harnessConf', () => {
  const conf = {
    port: 40123,
    socketDir: '/tmp/pg/sock',
    certFile: '/tmp/pg/data/server.crt',
    keyFile: '/tmp/pg/data/server.key',
    caFile: '/tmp/pg/data/server.cas',
  };

  it('listens on 127.0.0.1 with TLS from the given files', () => {
    const lines = harnessConf(conf).split('\n');
    expect(lines).toEqual(
      expect.arrayContaining([
        "listen_addresses = '127.0.0.1'",
        'port = 40123',
        "unix_socket_directories = '/tmp/pg/sock'",
        'ssl = on',
        "ssl_cert_file = '/tmp/pg/data/server.crt'",
        "ssl_key_file = '/tmp/pg/data/server.key'",
        "ssl_ca_file = '/tmp/pg/data/server.cas'",
        'fsync = off',
        'max_connections = 200',
      ]),
    );
  });

  it('appends extraConf last, so it overrides', () => {
    const text = harnessConf({ ...conf, extraConf: 'max_connections = 50\n' });
    expect(text.endsWith('max_connections = 50\n')).toBe(true);
  });
});

describe('confString', () => {
  it('doubles embedded single quotes', () => {
    expect(confString("it's")).toBe("'it''s'");
  });
});
