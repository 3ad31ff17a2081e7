import { busIdentity, BusRole } from './identity.js';
import { permissionsFor } from './permissions.js';

/** The placeholder for a process's own host id in the table. */
const ID = 'ID';

/**
 * The permission table as docs/security.md shows it: per kind of process, what it may publish
 * (requests carry its own `<role>.<ID>` at the end) and subscribe to. Generated from the table the
 * cluster issues credentials with, so the document cannot drift from it.
 */
export function permissionTableMarkdown(): string {
  const rows = Object.values(BusRole).map((role) => {
    const p = permissionsFor(busIdentity(role, ID));
    const list = (subjects: string[]) => subjects.map((s) => `\`${s}\``).join('<br>');
    return `| ${role} | ${list(p.pub)} | ${list(p.sub)} | ${p.respond ? 'yes' : 'no'} |`;
  });
  return ['| process | may publish | may subscribe | answers requests |', '| --- | --- | --- | --- |', ...rows].join('\n');
}
