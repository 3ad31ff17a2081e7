import { INTERNAL_SERVER_NAME, tunnelServerName, tunnelSlot } from '#libs/pki';
import { routeConnection } from './workers.js';

describe('routeConnection', () => {
  const never = () => {
    throw new Error('went round');
  };

  it("gives each tunnel slot's tunnels to one process, every process some", () => {
    const to = [0, 1, 2, 3, 4, 5, 6, 7].map((slot) =>
      routeConnection({ serverName: tunnelServerName(slot), alpn: ['dbaccess-tunnel'] }, 3, never),
    );
    expect(to).toEqual([1, 2, 3, 1, 2, 3, 1, 2]);
  });

  it('keeps a tunnel that names no slot, and an ACME validation, in the first process', () => {
    expect(routeConnection({ serverName: INTERNAL_SERVER_NAME, alpn: ['dbaccess-tunnel'] }, 4, never)).toBe(1);
    expect(routeConnection({ serverName: 'proxy.example.com', alpn: ['acme-tls/1'] }, 4, never)).toBe(1);
  });

  it('sends everything else round', () => {
    let turn = 0;
    const next = () => (turn++ % 2) + 1;
    const hello = (alpn: string[]) => ({ serverName: 'proxy.example.com', alpn });
    expect(
      [hello(['postgresql']), undefined, hello(['h2', 'http/1.1']), hello(['dbaccess-nats'])].map((h) => routeConnection(h, 2, next)),
    ).toEqual([1, 2, 1, 2]);
  });
});

describe('tunnelSlot', () => {
  it('reads back the slot tunnelServerName wrote, and nothing from other names', () => {
    expect([0, 7, 63].map((slot) => tunnelSlot(tunnelServerName(slot)))).toEqual([0, 7, 63]);
    for (const name of [
      undefined,
      INTERNAL_SERVER_NAME,
      'tunnel-1.example.com',
      'tunnel-x.teleport.cluster.local',
      'atunnel-1.teleport.cluster.local',
    ])
      expect(tunnelSlot(name)).toBeUndefined();
  });
});
