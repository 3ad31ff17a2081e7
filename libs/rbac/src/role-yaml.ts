import { stringify } from 'yaml';
import type { LabelSelector } from './labels.js';
import type { Role, RoleConditions } from './role.js';

type Entries = Array<[string, unknown]>;

// Fields in a fixed order, map keys sorted (as Go's YAML encoder does), absent fields left out.
function ordered(entries: Entries): Record<string, unknown> {
  return Object.fromEntries(entries.filter(([, value]) => value !== undefined));
}

function sorted<T extends LabelSelector>(selector: T | undefined): T | undefined {
  if (selector === undefined) return undefined;
  return Object.fromEntries(Object.entries(selector).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) as T;
}

function conditions(c: RoleConditions): Record<string, unknown> {
  return ordered([
    ['db_labels', sorted(c.db_labels)],
    ['db_names', c.db_names],
    ['db_users', c.db_users],
    ['db_roles', c.db_roles],
    [
      'db_permissions',
      c.db_permissions?.map((p) =>
        ordered([
          ['match', sorted(p.match)],
          ['permissions', p.permissions],
        ]),
      ),
    ],
    [
      'impersonate',
      c.impersonate &&
        ordered([
          ['users', c.impersonate.users],
          ['roles', c.impersonate.roles],
        ]),
    ],
    [
      'rules',
      c.rules?.map((r) =>
        ordered([
          ['resources', r.resources],
          ['verbs', r.verbs],
        ]),
      ),
    ],
  ]);
}

/** The role as `tctl get role/NAME` prints it. */
export function roleToYaml(role: Role): string {
  const { metadata, spec } = role;
  return stringify(
    ordered([
      ['kind', role.kind],
      ['version', role.version],
      [
        'metadata',
        ordered([
          ['name', metadata.name],
          ['description', metadata.description],
          ['labels', sorted(metadata.labels)],
        ]),
      ],
      [
        'spec',
        ordered([
          [
            'options',
            ordered([
              ['create_db_user_mode', spec.options.create_db_user_mode],
              ['max_session_ttl', spec.options.max_session_ttl],
              ['require_session_mfa', spec.options.require_session_mfa],
              [
                'record_query_results',
                spec.options.record_query_results &&
                  ordered([
                    ['max_rows', spec.options.record_query_results.max_rows],
                    ['max_value_length', spec.options.record_query_results.max_value_length],
                  ]),
              ],
            ]),
          ],
          ['allow', conditions(spec.allow)],
          ['deny', conditions(spec.deny)],
        ]),
      ],
    ]),
  );
}
