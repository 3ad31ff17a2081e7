import { BadParameterError } from './errors.js';
import { dialable, formatHostPort, parseHostPort } from './addr.js';

describe('parseHostPort', () => {
  it.each([
    ['0.0.0.0:3080', { host: '0.0.0.0', port: 3080 }],
    ['teleport.example.com:443', { host: 'teleport.example.com', port: 443 }],
    ['[::1]:5432', { host: '::1', port: 5432 }],
    [':3080', { host: '0.0.0.0', port: 3080 }],
    ['https://proxy:3080', { host: 'proxy', port: 3080 }],
  ])('%s', (text, expected) => expect(parseHostPort(text)).toEqual(expected));

  it('takes the default port', () => expect(parseHostPort('example.com', 443)).toEqual({ host: 'example.com', port: 443 }));
  it.each(['example.com', 'host:99999', 'host:x'])('refuses %s', (t) => expect(() => parseHostPort(t)).toThrow(BadParameterError));
  it('formats v6 with brackets', () => expect(formatHostPort({ host: '::1', port: 1 })).toBe('[::1]:1'));
  it('dials loopback for all interfaces', () => expect(dialable({ host: '0.0.0.0', port: 1 })).toEqual({ host: 'localhost', port: 1 }));
});
