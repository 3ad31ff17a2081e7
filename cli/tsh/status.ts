import { formatDuration } from '#libs/common';
import type { ActiveIdentity } from './identity.js';

/** The block `tsh status` and `tsh login` print. */
export function formatStatus({ profile, identity }: ActiveIdentity, now = new Date()): string {
  const left = identity.expires.getTime() - now.getTime();
  const validity = left > 0 ? `valid for ${formatDuration(Math.floor(left / 1000) * 1000)}` : 'EXPIRED';
  const until = identity.expires
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, ' +0000 UTC');
  const traits = Object.entries(identity.traits).filter(([k, v]) => v.length && k !== 'db_users' && k !== 'db_names');
  const lines = [
    `> Profile URL:        https://${profile.proxyAddr}`,
    `  Logged in as:       ${identity.username}`,
    ...(profile.cluster ? [`  Cluster:            ${profile.cluster}`] : []),
    `  Roles:              ${identity.roles.join(', ')}`,
    ...(identity.traits.db_users?.length ? [`  Database users:     ${identity.traits.db_users.join(', ')}`] : []),
    ...(identity.traits.db_names?.length ? [`  Database names:     ${identity.traits.db_names.join(', ')}`] : []),
    ...(traits.length ? [`  Traits:             ${traits.map(([k, v]) => `${k}=${v.join(',')}`).join(' ')}`] : []),
    `  Valid until:        ${until} [${validity}]`,
  ];
  return lines.join('\n') + '\n';
}
