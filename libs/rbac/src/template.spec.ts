import { expandTemplate, templateProblem, type Traits } from './template.js';

describe('expandTemplate', () => {
  const traits: Traits = {
    db_users: ['alice', 'readonly'],
    db_names: ['main'],
    db_roles: [],
    email: ['alice@example.com'],
    emails: ['alice@example.com', 'bob@example.org'],
    groups: ['team-payments', 'admins', 'team-search'],
    env: ['prod'],
  };

  it.each<[string, string, string[]]>([
    ['a literal stays as written', 'postgres', ['postgres']],
    ['a wildcard stays as written', '*', ['*']],
    ['internal.db_users gives every value', '{{internal.db_users}}', ['alice', 'readonly']],
    ['internal.db_names', '{{internal.db_names}}', ['main']],
    ['the spaced form', '{{ internal.db_users }}', ['alice', 'readonly']],
    ['external.<trait>', '{{external.env}}', ['prod']],
    ['literal prefix and suffix', 'app-{{external.env}}-rw', ['app-prod-rw']],
    ['prefix and suffix on every value', 'u_{{internal.db_users}}', ['u_alice', 'u_readonly']],
    ['email.local', '{{email.local(external.email)}}', ['alice']],
    ['email.local on every value', '{{email.local(external.emails)}}', ['alice', 'bob']],
    [
      'regexp.replace with a capture group, dropping values it does not match',
      '{{regexp.replace(external.groups, "^team-(.*)$", "$1")}}',
      ['payments', 'search'],
    ],
    ['regexp.replace with literal text around', 'db-{{regexp.replace(external.groups, "^team-", "")}}', ['db-payments', 'db-search']],
    ['regexp.replace with escapes', '{{regexp.replace(external.env, "^(\\\\w)\\\\w*$", "$1")}}', ['p']],
    ['nested functions', '{{regexp.replace(email.local(external.email), "^(a)", "A")}}', ['Alice']],
  ])('%s', (_case, value, expected) => {
    expect(expandTemplate(value, traits)).toEqual(expected);
  });

  it.each<[string, string]>([
    ['a missing external trait', '{{external.nope}}'],
    ['an internal trait Teleport does not define', '{{internal.foo}}'],
    ['a missing trait with prefix', 'pre-{{external.nope}}'],
    ['an empty internal trait', '{{internal.db_roles}}'],
    ['a trait missing under a function', '{{email.local(external.nope)}}'],
    ['a value that is not an email', '{{email.local(external.env)}}'],
    ['regexp.replace matching nothing', '{{regexp.replace(external.env, "^dev$", "x")}}'],
    ['a malformed template', '{{internal.db_users'],
  ])('drops the entry for %s', (_case, value) => {
    expect(expandTemplate(value, traits)).toEqual([]);
  });
});

describe('templateProblem', () => {
  it.each([
    'postgres',
    '*',
    '^prod-.*$',
    '{{internal.db_roles}}',
    '{{internal.logins}}',
    '{{internal.foo}}',
    'x-{{ external.team }}',
    '{{regexp.replace(external.g, "a(b)", "$1")}}',
  ])('accepts %j', (value) => expect(templateProblem(value)).toBeUndefined());

  it.each<[string, RegExp]>([
    ['{{internal.db_users', /brackets do not parse/],
    ['{{internal.db_users}}{{external.x}}', /brackets do not parse/],
    ['{{external}}', /is not a trait/],
    ['{{external.a.b}}', /is not a trait/],
    ['{{email.remote(external.email)}}', /unsupported function "email.remote"/],
    ['{{regexp.replace(external.x, "(", "")}}', /not a valid regular expression/],
    ['{{regexp.replace(external.x, "a")}}', /expected ","/],
    ['{{external.x extra}}', /unexpected "extra"/],
  ])('refuses %j', (value, message) => {
    expect(templateProblem(value)).toMatch(message);
  });
});
