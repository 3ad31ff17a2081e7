import { fromResource } from './served-databases.js';

describe('fromResource', () => {
  it('serves a db resource as the database it describes, its labels static, its CA its own', () => {
    expect(
      fromResource({
        kind: 'db',
        version: 'v3',
        metadata: { name: 'orders', description: 'Orders', labels: { env: 'test' } },
        spec: {
          protocol: 'postgres',
          uri: 'orders.internal:5432',
          tls: { mode: 'verify-ca', ca_cert: '-----BEGIN CERTIFICATE-----\n...' },
          admin_user: { name: 'teleport-admin' },
        },
      }),
    ).toEqual({
      name: 'orders',
      description: 'Orders',
      protocol: 'postgres',
      uri: 'orders.internal:5432',
      tls: { mode: 'verify-ca' },
      admin_user: { name: 'teleport-admin' },
      static_labels: { env: 'test' },
      origin: 'dynamic',
      caPem: '-----BEGIN CERTIFICATE-----\n...',
    });
  });

  it('keeps only what the resource says', () => {
    expect(fromResource({ kind: 'db', version: 'v3', metadata: { name: 'a' }, spec: { protocol: 'postgres', uri: 'a:5432' } })).toEqual({
      name: 'a',
      protocol: 'postgres',
      uri: 'a:5432',
      static_labels: {},
      origin: 'dynamic',
    });
  });
});
