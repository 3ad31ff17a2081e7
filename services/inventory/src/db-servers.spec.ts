import { BadParameterError } from '#libs/common';
import { parseDbServer } from './db-servers.js';

const registration = {
  host_id: 'host-1',
  addr: '127.0.0.1:4000',
  resource: {
    kind: 'db',
    version: 'v3',
    metadata: { name: 'example', labels: { env: 'dev' } },
    spec: { protocol: 'postgres', uri: 'localhost:5432' },
  },
  expires: '2030-01-01T00:00:00.000Z',
};
const bytes = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));

describe('parseDbServer', () => {
  it('reads a registration as a Database Service writes it', () => {
    expect(parseDbServer(bytes(registration))).toEqual(registration);
  });

  it.each([
    ['not JSON', 'not json!! secret', '17 bytes that are not JSON'],
    ['JSON of another shape', { host_id: 42, secret: 'x' }, 'not a registration: host_id: '],
    ['a resource that is not a database', { ...registration, resource: { kind: 'db', secret: 1 } }, 'not a registration: resource.'],
    ['null', 'null', 'not a registration: '],
  ])('refuses %s without quoting it', (_what, value, message) => {
    const parse = () => parseDbServer(bytes(value));
    expect(parse).toThrow(BadParameterError);
    expect(parse).toThrow(message);
    expect(parse).not.toThrow(/secret/);
  });
});
