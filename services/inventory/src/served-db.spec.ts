import type { DbResource } from '#libs/config';
import { servedBy, type ServedDb } from './served-db.js';

const resource = (name: string, env: string): DbResource =>
  ({ kind: 'db', version: 'v3', metadata: { name, labels: { env } }, spec: { protocol: 'postgres', uri: 'localhost:5432' } }) as DbResource;

describe('servedBy', () => {
  const registrations: ServedDb[] = [
    { host_id: 'a', resource: resource('orders', 'prod'), origin: 'dynamic', expires: '2999-01-01T00:00:00Z' },
    { host_id: 'b', resource: resource('billing', 'dev'), expires: '2999-01-01T00:00:00Z' },
    { host_id: 'c', resource: resource('orders', 'prod'), origin: 'dynamic', expires: '2999-01-01T00:00:00Z' },
  ];

  it('names every Database Service registered for the database, with the resource one of them registered', () => {
    expect(servedBy(registrations, 'orders')).toEqual({
      resource: resource('orders', 'prod'),
      origin: 'dynamic',
      servers: [{ host_id: 'a' }, { host_id: 'c' }],
    });
  });

  it("takes a registration without an origin for the service's own configuration", () => {
    expect(servedBy(registrations, 'billing')?.origin).toBe('config');
  });

  it('answers nothing for a database no one serves: the caller asks the inventory what it is', () => {
    expect(servedBy(registrations, 'nowhere')).toBeUndefined();
  });
});
