import { createPublicKey } from 'node:crypto';
import { BadParameterError, NotFoundError } from '#libs/common';
import { dbLogins, dbProfile, type ApiClient, type DbLogin, type DbProfile } from '#libs/client';
import type { AuthRpc } from '#libs/events';
import { activeIdentity, apiFor, type ActiveIdentity, type TshGlobals } from './identity.js';

/** What every `tsh db` command acts as: the user's identity, the proxy, and where their database files go. */
export interface DbContext {
  active: ActiveIdentity;
  api: ApiClient;
  profile: DbProfile;
}

export async function dbContext(g: TshGlobals): Promise<DbContext> {
  const active = activeIdentity(g);
  const api = apiFor(active, g);
  // An identity file does not name its cluster; the proxy does.
  const cluster = active.profile.cluster || (await api.get<AuthRpc.PingReply>('/v1/webapi/ping')).cluster_name;
  return { active, api, profile: dbProfile(api.addr, active.identity.username, cluster) };
}

/** The database a command is about: the one named, or the only one logged in to. */
export function pickLogin(ctx: DbContext, db: string | undefined, howToName: string): DbLogin {
  const logins = dbLogins(ctx.profile);
  if (db === undefined) {
    if (logins.length === 0) throw new NotFoundError("not logged in to any database: run 'tsh db login DB' first");
    if (logins.length > 1) {
      throw new BadParameterError(`logged in to several databases (${logins.map((l) => l.name).join(', ')}): ${howToName}`);
    }
    return logins[0]!;
  }
  const login = logins.find((l) => l.name === db);
  if (!login) throw new NotFoundError(`not logged in to database "${db}": run 'tsh db login ${db}' first`);
  return login;
}

export function publicKeyOf(privateKeyPem: string): string {
  return createPublicKey(privateKeyPem).export({ type: 'spki', format: 'pem' }).toString();
}
