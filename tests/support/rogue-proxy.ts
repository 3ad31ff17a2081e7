import { createServer, type Server, type TLSSocket } from 'node:tls';
import { Kvm } from '@nats-io/kv';
import { busIdentity, BusRole } from '#libs/bus';
import { Buckets, Rpc, type DataPlane, type SignedCert } from '#libs/events';
import { freePort } from '#libs/testing';
import { generateKeyPair } from '#libs/pki';
import { busClient, type BusTarget } from './bus.js';

/**
 * A proxy the test plays itself: genuine Proxy credentials on the bus and a Proxy host certificate, its
 * own address advertised in PROXIES. Database Services open tunnels to it as to any proxy, and the test
 * writes on them what it likes: what a compromised proxy could do.
 */
export interface RogueProxy {
  bus: Awaited<ReturnType<typeof busClient>>;
  /** The next tunnel a Database Service opened to it (waits for one). */
  tunnel(): Promise<TLSSocket>;
  stop(): Promise<void>;
}

export async function startRogueProxy(cluster: BusTarget, hostId = 'rogue-proxy'): Promise<RogueProxy> {
  const bus = await busClient(cluster, busIdentity(BusRole.Proxy, hostId));
  const keys = await generateKeyPair();
  const signed = await bus.rpc.call<SignedCert>(Rpc.Auth.SignHost, {
    public_key: keys.publicKeyPem,
    ip_addresses: ['127.0.0.1'],
    ttl_ms: 600_000,
  });
  const tunnels: TLSSocket[] = [];
  const waiting: Array<(socket: TLSSocket) => void> = [];
  const server: Server = createServer({
    key: keys.privateKeyPem,
    cert: signed.cert,
    ca: signed.cas.host,
    requestCert: true,
    ALPNProtocols: ['dbaccess-tunnel'],
  });
  server.on('secureConnection', (socket) => {
    socket.on('error', () => undefined);
    const waiter = waiting.shift();
    if (waiter) waiter(socket);
    else tunnels.push(socket);
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const bucket = await new Kvm(bus.nc).open(Buckets.Proxies);
  const entry: DataPlane.ProxyServer = {
    host_id: hostId,
    addr: `127.0.0.1:${port}`,
    expires: new Date(Date.now() + 600_000).toISOString(),
  };
  await bucket.put(hostId, JSON.stringify(entry));
  return {
    bus,
    tunnel: () => {
      const ready = tunnels.shift();
      if (ready) return Promise.resolve(ready);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no Database Service opened a tunnel to the rogue proxy within 20s')), 20_000);
        waiting.push((socket) => {
          clearTimeout(timer);
          resolve(socket);
        });
      });
    },
    async stop() {
      await bucket.delete(hostId).catch(() => undefined);
      await bus.nc.close();
      for (const socket of tunnels) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
