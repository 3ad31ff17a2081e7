import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { loadConfig } from '#libs/config';
import { starterConfig } from './configure.js';

describe('starterConfig', () => {
  const options = { clusterName: 'example.com', dataDir: '/var/lib/teleport', natsAddr: '127.0.0.1:4222', nodename: 'auth-1' };

  function load(text: string) {
    const file = join(mkdtempSync(join(tmpdir(), 'starter-')), 'teleport.yaml');
    writeFileSync(file, text);
    return loadConfig(file, {});
  }

  it('is a file teleport start reads, with the settings given', () => {
    const config = load(starterConfig({ ...options, publicAddr: 'proxy.example.com:3080' }));
    expect(config.auth.clusterName).toBe('example.com');
    expect(config.dataDir).toBe('/var/lib/teleport');
    expect(config.proxy.publicAddrs).toEqual(['proxy.example.com:3080']);
    expect(config.nats).toMatchObject({ embedded: true, listenAddr: '127.0.0.1:4222' });
  });

  it('says where the NATS port is changed, and shows the settings it leaves out', () => {
    const text = starterConfig(options);
    expect(text).toMatch(/Change the port if something else on this host already uses it\.\n {4}listen_addr: "127\.0\.0\.1:4222"\n/);
    expect(text).toContain('# public_addr: "proxy.example.com:3080"');
    expect(text).toContain('# tokens:');
    expect(load(text).proxy.publicAddrs).toEqual([]);
  });

  it('quotes what YAML could read as something else', () => {
    expect(parse(starterConfig({ ...options, clusterName: 'yes', nodename: 'a: b' }))).toMatchObject({
      teleport: { nodename: 'a: b' },
      auth_service: { cluster_name: 'yes', enabled: 'yes' },
    });
  });
});
