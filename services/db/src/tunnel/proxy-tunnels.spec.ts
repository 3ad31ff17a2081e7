import { tunnelAddresses } from './proxy-tunnels.js';

describe('tunnelAddresses', () => {
  const dns: Record<string, string[]> = { proxy: ['10.0.0.1', '10.0.0.2'], lb: ['10.0.0.9'], v6: ['fd00::1'] };
  const resolve = async (host: string) => {
    if (!dns[host]) throw new Error(`getaddrinfo ENOTFOUND ${host}`);
    return dns[host];
  };

  it('is every address of every proxy replica behind one name, with its port', async () => {
    expect(await tunnelAddresses(['proxy:3080'], resolve)).toEqual(['10.0.0.1:3080', '10.0.0.2:3080']);
  });

  it('keeps addresses as they are, and each once', async () => {
    expect(await tunnelAddresses(['127.0.0.1:3080', 'lb:443', '10.0.0.9:443', 'v6:3080'], resolve)).toEqual([
      '127.0.0.1:3080',
      '10.0.0.9:443',
      '[fd00::1]:3080',
    ]);
  });

  it('dials a name that does not resolve by its name, to be tried again', async () => {
    expect(await tunnelAddresses(['gone.example.com:3080'], resolve)).toEqual(['gone.example.com:3080']);
  });
});
