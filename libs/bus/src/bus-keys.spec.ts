import { BadParameterError } from '#libs/common';
import { natsServerConfig, newBusKeys } from './bus-keys.js';

const base = { listen: '0.0.0.0:4222', storeDir: '/data' };
const cluster = { name: 'dbaccess', listen: '0.0.0.0:6222', routes: ['nats://nats-1:6222', 'nats://nats-2:6222', 'nats://nats-3:6222'] };

/** The routes' password as the configuration states it. */
const passwordOf = (config: string) => /authorization \{ user: route, password: "([^"]+)" \}/.exec(config)?.[1];

describe('natsServerConfig', () => {
  it('holds no secret and no cluster block without routes', async () => {
    const config = await natsServerConfig(newBusKeys(), { ...base, monitorListen: '0.0.0.0:8222' });
    expect(config).not.toMatch(/^cluster \{|password/m);
    expect(config).toContain('http: "0.0.0.0:8222"');
  });

  it('gives every node of a cluster the same route password, and dials each route with it', async () => {
    const keys = newBusKeys();
    const one = await natsServerConfig(keys, { ...base, serverName: 'nats-1', cluster });
    const two = await natsServerConfig(keys, { ...base, serverName: 'nats-2', cluster });
    const password = passwordOf(one);
    expect(password).toMatch(/^[\w-]{43}$/);
    expect(passwordOf(two)).toBe(password);
    for (const host of ['nats-1', 'nats-2', 'nats-3']) expect(one).toContain(`"nats://route:${password}@${host}:6222"`);
    expect(one).toContain('name: "dbaccess"');
    expect(one).toContain('listen: "0.0.0.0:6222"');
  });

  it("derives another cluster's route password from its own keys", async () => {
    const a = passwordOf(await natsServerConfig(newBusKeys(), { ...base, cluster }));
    const b = passwordOf(await natsServerConfig(newBusKeys(), { ...base, cluster }));
    expect(a).not.toBe(b);
  });

  it('refuses a route that is not a URL', async () => {
    await expect(natsServerConfig(newBusKeys(), { ...base, cluster: { ...cluster, routes: ['nats-1:6222'] } })).rejects.toThrow(
      BadParameterError,
    );
    await expect(natsServerConfig(newBusKeys(), { ...base, cluster: { ...cluster, routes: ['nats://nats-1'] } })).rejects.toThrow(
      BadParameterError,
    );
  });
});
