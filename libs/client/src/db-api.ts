/** A database as the proxy's `GET /v1/webapi/dbs` shows it to a user (what `tsh db ls` prints). */
export interface DbView {
  name: string;
  description: string;
  protocol: string;
  /** `rds` for a database with an AWS region, else `self-hosted`. */
  type: 'self-hosted' | 'rds';
  uri: string;
  labels: Record<string, string>;
  /** What the user's roles allow on this database; `*` stays as written. */
  allowed_users: string[];
  allowed_names: string[];
  allowed_roles: string[];
  /** The user's roles provision database users here: sessions connect as the Teleport username. */
  auto_user?: boolean;
}
