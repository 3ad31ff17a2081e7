import { ProvisioningError } from './errors.js';
import { permissionSummary, tableGrants } from './permissions.js';

const TABLES = [
  { schema: 'public', name: 'items' },
  { schema: 'public', name: 'orders' },
  { schema: 'private', name: 'keys' },
];
const CONTEXT = { database: 'app', service: 'example' };

describe('tableGrants', () => {
  it('grants the permissions of matching allow rules, less matching deny rules', () => {
    const grants = tableGrants(
      {
        allow: [
          { match: { object_kind: 'table', schema: 'public' }, permissions: ['select'] },
          { match: { name: 'orders' }, permissions: ['INSERT', 'UPDATE'] },
        ],
        deny: [{ match: { name: 'orders' }, permissions: ['UPDATE'] }],
      },
      TABLES,
      CONTEXT,
    );
    expect(grants).toEqual([
      { schema: 'public', name: 'items', privilege: 'SELECT' },
      { schema: 'public', name: 'orders', privilege: 'INSERT' },
      { schema: 'public', name: 'orders', privilege: 'SELECT' },
    ]);
  });

  it('matches globs and the database labels', () => {
    const grants = tableGrants(
      { allow: [{ match: { name: 'ord*', database: 'app' }, permissions: ['DELETE'] }], deny: [] },
      TABLES,
      CONTEXT,
    );
    expect(grants).toEqual([{ schema: 'public', name: 'orders', privilege: 'DELETE' }]);
  });

  it('refuses a permission that is not a table privilege', () => {
    expect(() => tableGrants({ allow: [{ match: { name: '*' }, permissions: ['EXECUTE'] }], deny: [] }, TABLES, CONTEXT)).toThrow(
      ProvisioningError,
    );
  });
});

describe('permissionSummary', () => {
  it('counts objects per privilege and the tables touched', () => {
    expect(
      permissionSummary([
        { schema: 'public', name: 'a', privilege: 'SELECT' },
        { schema: 'public', name: 'b', privilege: 'SELECT' },
        { schema: 'public', name: 'b', privilege: 'INSERT' },
      ]),
    ).toEqual({
      permission_summary: [
        { permission: 'INSERT', counts: { table: 1 } },
        { permission: 'SELECT', counts: { table: 2 } },
      ],
      affected_object_counts: { table: 2 },
    });
  });
});
