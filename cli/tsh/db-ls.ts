import type { DbView } from '#libs/client';
import { table } from '../shared/output.js';
import { formatLabels } from './db-labels.js';

const brackets = (values: string[]) => `[${values.join(' ')}]`;

/** The `tsh db ls` table; `verbose` adds how to reach each database and what the roles allow there. */
export function dbTable(dbs: DbView[], verbose: boolean): string {
  if (!verbose)
    return table(
      ['Name', 'Description', 'Labels'],
      dbs.map((d) => [d.name, d.description, formatLabels(d.labels)]),
    );
  return table(
    ['Name', 'Description', 'Protocol', 'Type', 'URI', 'Allowed Users', 'Database Names', 'Database Roles', 'Labels'],
    dbs.map((d) => [
      d.name,
      d.description,
      d.protocol,
      d.type,
      d.uri,
      brackets(d.allowed_users),
      brackets(d.allowed_names),
      brackets(d.allowed_roles),
      formatLabels(d.labels),
    ]),
  );
}
