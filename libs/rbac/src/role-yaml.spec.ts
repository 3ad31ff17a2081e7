import { parse } from 'yaml';
import { BUILTIN_ROLES } from './builtin.js';
import { parseRole } from './role.js';
import { roleToYaml } from './role-yaml.js';

describe('roleToYaml', () => {
  it('prints kind, version, metadata and spec in that order, fields in a fixed order and map keys sorted', () => {
    // given: written in another order
    const role = parseRole({
      spec: {
        deny: { db_users: ['postgres'] },
        allow: { db_users: ['{{internal.db_users}}'], db_labels: { region: 'eu-*', env: ['dev', 'stage'] }, db_names: ['*'] },
        options: { require_session_mfa: true, max_session_ttl: '8h' },
      },
      metadata: { labels: { team: 'payments', owner: 'platform' }, name: 'developer' },
      version: 'v7',
      kind: 'role',
    });
    // when / then
    expect(roleToYaml(role)).toBe(`kind: role
version: v7
metadata:
  name: developer
  labels:
    owner: platform
    team: payments
spec:
  options:
    max_session_ttl: 8h
    require_session_mfa: true
  allow:
    db_labels:
      env:
        - dev
        - stage
      region: eu-*
    db_names:
      - "*"
    db_users:
      - "{{internal.db_users}}"
  deny:
    db_users:
      - postgres
`);
  });

  it.each(BUILTIN_ROLES.map((r) => [r.metadata.name, r] as const))('reads back to the same role: %s', (_name, role) => {
    expect(parseRole(parse(roleToYaml(role)))).toEqual(role);
  });

  it('reads back a v3 role with its filled default', () => {
    const role = parseRole({ kind: 'role', version: 'v3', metadata: { name: 'legacy' } });
    expect(roleToYaml(role)).toContain('db_labels:\n      "*": "*"');
    expect(parseRole(parse(roleToYaml(role)))).toEqual(role);
  });
});
