import { parseRole } from './role.js';
import { applyTraits } from './traits.js';

describe('applyTraits', () => {
  const templated = parseRole({
    kind: 'role',
    version: 'v7',
    metadata: { name: 'templated' },
    spec: {
      options: { max_session_ttl: '8h' },
      allow: {
        db_labels: { env: '{{external.env}}', team: ['{{external.teams}}', 'shared'], tier: '{{external.nope}}', region: 'eu-*' },
        db_names: ['{{internal.db_names}}', 'metrics', '{{external.nope}}'],
        db_users: ['{{internal.db_users}}', 'alice', '{{email.local(external.email)}}'],
        db_roles: ['reader', '{{internal.db_roles}}'],
        impersonate: { users: ['{{external.delegates}}'], roles: ['{{external.system}}'] },
        rules: [{ resources: ['session'], verbs: ['read'] }],
      },
      deny: { db_users: ['{{external.banned}}'], db_names: ['{{external.nope}}'] },
    },
  });
  const traits = {
    db_users: ['alice', 'bob'],
    db_names: ['main'],
    db_roles: ['writer'],
    email: ['carol@example.com'],
    env: ['prod', 'stage'],
    teams: ['payments'],
    delegates: ['dave'],
    system: ['Db'],
    banned: ['postgres'],
  };

  it('expands every db_* list, label value and impersonate list, deduplicating', () => {
    // when
    const role = applyTraits(templated, traits);
    // then
    expect(role.spec.allow).toEqual({
      db_labels: { env: ['prod', 'stage'], team: ['payments', 'shared'], tier: [], region: 'eu-*' },
      db_names: ['main', 'metrics'],
      db_users: ['alice', 'bob', 'carol'],
      db_roles: ['reader', 'writer'],
      impersonate: { users: ['dave'], roles: ['Db'] },
      rules: [{ resources: ['session'], verbs: ['read'] }],
    });
    expect(role.spec.deny).toEqual({ db_users: ['postgres'], db_names: [] });
  });

  it('keeps a single-valued label a string and leaves metadata and options alone', () => {
    // when
    const role = applyTraits(templated, { env: ['prod'] });
    // then
    expect(role.spec.allow.db_labels?.env).toBe('prod');
    expect(role.metadata).toEqual(templated.metadata);
    expect(role.spec.options).toEqual({ max_session_ttl: '8h' });
  });

  it('does not change the role it is given', () => {
    // given
    const before = structuredClone(templated);
    // when
    applyTraits(templated, traits);
    // then
    expect(templated).toEqual(before);
  });
});
