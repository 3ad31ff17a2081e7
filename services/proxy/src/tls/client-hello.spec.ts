import { createServer } from 'node:net';
import { connect } from 'node:tls';
import { clientHelloInfo, peekFirstRecord } from './client-hello.js';

const clientHelloServerName = (record: Buffer) => clientHelloInfo(record).serverName;

/** The first record a real TLS client sends, asking for `servername` (none for an address). */
async function clientHello(servername?: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const server = createServer({ pauseOnConnect: true }, (socket) => {
      peekFirstRecord(socket)
        .then((record) => {
          // Put back: reading again gives the same bytes.
          expect(socket.read(record.length)).toEqual(record);
          resolve(record);
        }, reject)
        .finally(() => {
          socket.destroy();
          server.close();
        });
    });
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      const client = connect({ host: '127.0.0.1', port, ...(servername ? { servername } : {}), ALPNProtocols: ['acme-tls/1', 'http/1.1'] });
      client.on('error', () => undefined);
    });
  });
}

describe('clientHelloInfo', () => {
  it('reads the name a real ClientHello asks for', async () => {
    expect(clientHelloServerName(await clientHello('teleport.cluster.local'))).toBe('teleport.cluster.local');
    expect(clientHelloServerName(await clientHello('Proxy.Example.COM'))).toBe('proxy.example.com');
  });

  it('reads the application protocols it offers (ALPN)', async () => {
    expect(clientHelloInfo(await clientHello('proxy.example.com'))).toEqual({
      serverName: 'proxy.example.com',
      alpn: ['acme-tls/1', 'http/1.1'],
    });
  });

  it('has no name for a hello without SNI (a client dialing an address)', async () => {
    expect(clientHelloServerName(await clientHello())).toBeUndefined();
  });

  it('has no name, and does not throw, for a cut-short or foreign record', async () => {
    const hello = await clientHello('teleport.cluster.local');
    // Cut anywhere: the whole name once the prefix holds it, else none.
    const nameEnd = hello.indexOf('teleport.cluster.local') + 'teleport.cluster.local'.length;
    for (let n = 0; n < hello.length; n += 3) {
      expect(clientHelloServerName(hello.subarray(0, n))).toBe(n >= nameEnd ? 'teleport.cluster.local' : undefined);
    }
    expect(clientHelloServerName(Buffer.from('GET / HTTP/1.1\r\n\r\n'))).toBeUndefined();
    const lying = Buffer.from(hello);
    lying.writeUInt16BE(0xffff, 3); // a record length past the end
    expect(clientHelloServerName(lying)).toBe('teleport.cluster.local');
  });
});
