import { connect, createServer, type Server, type Socket } from 'node:net';
import type { Logger } from '@nestjs/common';
import { PendingConnections, sourceOf, type ConnectionLimits } from './pending-connections.js';

const LIMITS: ConnectionLimits = { handshakeTimeoutMs: 300, maxPendingPerSource: 3, maxPending: 5 };

let server: Server;
let pending: PendingConnections;
let accepted: Array<{ socket: Socket; admitted: boolean }>;
let warnings: string[];
const clients: Socket[] = [];

async function listen(limits: ConnectionLimits): Promise<void> {
  warnings = [];
  const logger = { debug: () => undefined, warn: (m: string) => warnings.push(m) } as unknown as Logger;
  pending = new PendingConnections(limits, logger);
  accepted = [];
  server = createServer((socket) => {
    socket.on('error', () => undefined);
    accepted.push({ socket, admitted: pending.admit(socket) });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
}

afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  await new Promise((resolve) => server.close(resolve));
});

/** A client that connects and says nothing; resolves with when it saw the close, in ms after connecting. */
async function idleClient(localAddress = '127.0.0.1'): Promise<{ closed: Promise<number> }> {
  // Counted before connecting: the server may accept before the client sees 'connect'.
  const count = accepted.length;
  const socket = connect({ host: '127.0.0.1', port: (server.address() as { port: number }).port, localAddress });
  clients.push(socket);
  socket.on('error', () => undefined);
  await new Promise((resolve) => socket.once('connect', resolve));
  const start = Date.now();
  const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now() - start)));
  while (accepted.length === count) await new Promise((r) => setTimeout(r, 5));
  return { closed };
}

describe('PendingConnections', () => {
  it('closes a connection that has said nothing when its deadline passes', async () => {
    await listen(LIMITS);
    const { closed } = await idleClient();
    const after = await closed;
    expect(after).toBeGreaterThanOrEqual(250);
    expect(after).toBeLessThan(1_000);
  });

  it('leaves an established connection open past the deadline', async () => {
    await listen(LIMITS);
    const { closed } = await idleClient();
    pending.established(accepted[0]!.socket);
    const outcome = await Promise.race([closed.then(() => 'closed'), new Promise((r) => setTimeout(() => r('open'), 600))]);
    expect(outcome).toBe('open');
  });

  it('refuses a source over its limit at once while other sources still get in', async () => {
    await listen(LIMITS);
    for (let i = 0; i < 3; i++) await idleClient('127.0.0.2');
    const refused = await idleClient('127.0.0.2');
    expect(accepted.map((a) => a.admitted)).toEqual([true, true, true, false]);
    expect(await refused.closed).toBeLessThan(200);
    await idleClient('127.0.0.1');
    expect(accepted.at(-1)!.admitted).toBe(true);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('from 127.0.0.2 (max_pending_per_source)');
  });

  it('refuses past the total limit, and a closed or established connection frees its place', async () => {
    await listen({ ...LIMITS, maxPendingPerSource: 100 });
    for (let i = 0; i < 5; i++) await idleClient();
    await idleClient();
    expect(accepted.at(-1)!.admitted).toBe(false);
    accepted[0]!.socket.destroy();
    pending.established(accepted[1]!.socket);
    await new Promise((r) => setTimeout(r, 50));
    await idleClient();
    await idleClient();
    await idleClient();
    expect(accepted.slice(-3).map((a) => a.admitted)).toEqual([true, true, false]);
  });

  it('warns about refusals at most every 10 s, counting those in between', async () => {
    await listen({ ...LIMITS, maxPendingPerSource: 1 });
    await idleClient();
    for (let i = 0; i < 4; i++) await idleClient();
    expect(accepted.filter((a) => !a.admitted)).toHaveLength(4);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^refused 1 new connection\(s\)/);
  });
});

describe('sourceOf', () => {
  it.each([
    ['127.0.0.2', '127.0.0.2'],
    ['::ffff:10.1.2.3', '10.1.2.3'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:db8:1:2::7', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['2001:0db8:0000:0002:ffff::1', '2001:db8:0:2::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    [undefined, 'unknown'],
  ])('%s counts as %s', (address, source) => expect(sourceOf(address)).toBe(source));
});
