import type { Duplex } from 'node:stream';
import { AuditCode, AuditEvent, FailedAuditCode, type DataPlane } from '#libs/events';
import { activationError, adminConnectError } from './admin-errors.js';
import { ProvisioningError } from './errors.js';
import { permissionSummary, tableGrants, type TableGrant } from './permissions.js';
import { withRetries } from './retry.js';
import { PgError, SimpleQueryClient, quoteIdent as id } from './simple-query.js';
import {
  AUTO_USER_GROUP,
  backendGone,
  createGroup,
  currentTableGrants,
  ensureConnect,
  ensureGroupAdmin,
  groupExists,
  liveConnections,
  lockUser,
  notManaged,
  revokeAll,
  rolesChanged,
  sameGrants,
  setRoles,
  setTableGrants,
  tables,
  userState,
} from './user-sql.js';

/** How long a session waits for another session of the same user to finish setting up or tearing down. */
const LOCK_TIMEOUT = '30s';
/** How long teardown waits for the ending session's backend to leave pg_stat_activity. */
const BACKEND_EXIT_WAIT_MS = 5_000;

export interface AdminUser {
  name: string;
  default_database?: string;
}

/** A session whose database user is provisioned. */
export interface ProvisionedSession {
  /** The session id: the admin's certificate is issued for it. */
  sid: string;
  /** Teleport username = database user. */
  user: string;
  /** The database (name) the session connects to. */
  database: string;
  autoUser: DataPlane.AutoUser;
  /** Emits an audit event of the session. */
  emit(event: string, code: string, fields: Record<string, unknown>): void;
}

/** A connection of the session's user: its backend's process id tells it apart from the user's other sessions. */
export interface UserConnection {
  processId: number;
}

export interface Activated<T> {
  upstream: T;
  /** Run once the session's connection is closed: deactivates the user unless other sessions of it live. */
  teardown(): Promise<void>;
}

/**
 * Automatic database users of one database (TELEPORT-FACTS.md section 5). Activation and teardown of a
 * user hold a PostgreSQL advisory lock keyed on the user name, on an admin connection: every Database
 * Service reaching this database takes the same lock, and a dead one releases it with its connection.
 * Activation keeps the lock until the user's own connection is up, so a concurrent teardown can never
 * disable the user between activation and login.
 */
export class Provisioner {
  /** Whether teleport-auto-user is known to exist: checked once, not re-created on every connection. */
  private groupReady = false;

  constructor(
    private readonly service: string,
    private readonly admin: AdminUser,
    /** An authenticated connection as the admin user to `database`, for session `sid`. */
    private readonly dial: (database: string, sid: string) => Promise<Duplex>,
  ) {}

  async activate<T extends UserConnection>(session: ProvisionedSession, connect: () => Promise<T>): Promise<Activated<T>> {
    const { user, autoUser } = session;
    const admin = await this.open(this.lockDatabase(session), session.sid);
    let objects: SimpleQueryClient | undefined;
    try {
      await admin.query(`SET lock_timeout = '${LOCK_TIMEOUT}'`);
      try {
        await lockUser(admin, user);
        await this.ensureGroup(admin);
        objects = await this.objectsConnection(session, admin);
        const { grants, grantAfter } = await withRetries(() => admin.transaction(() => this.activateUser(admin, objects!, session)));
        // The other connection sees the user only once it is committed.
        if (grantAfter) await withRetries(async () => setTableGrants(objects!, user, await currentTableGrants(objects!, user), grants));
        session.emit(AuditEvent.UserCreate, AuditCode[AuditEvent.UserCreate], { username: user, roles: autoUser.db_roles });
        if (autoUser.db_permissions.allow.length)
          session.emit(AuditEvent.PermissionsUpdate, AuditCode[AuditEvent.PermissionsUpdate], permissionSummary(grants));
      } catch (err) {
        // Someone may have dropped teleport-auto-user: look again next time.
        this.groupReady = false;
        const refused = activationError(err, user, this.admin.name);
        session.emit(AuditEvent.UserCreate, FailedAuditCode[AuditEvent.UserCreate], {
          username: user,
          roles: autoUser.db_roles,
          success: false,
          error: refused.message,
        });
        throw refused;
      }
      let upstream: T;
      try {
        upstream = await connect();
      } catch (err) {
        await this.deactivate(admin, objects, session, 0).catch(() => undefined);
        throw err;
      }
      return { upstream, teardown: () => this.teardown(session, upstream.processId) };
    } finally {
      if (objects !== admin) objects?.close();
      admin.close();
    }
  }

  /** Deactivates the user of a session that ended, unless other sessions of it live (its own backend, `processId`, aside). */
  async teardown(session: ProvisionedSession, processId: number): Promise<void> {
    let admin: SimpleQueryClient | undefined;
    let objects: SimpleQueryClient | undefined;
    try {
      admin = await this.open(this.lockDatabase(session), session.sid);
      await admin.query(`SET lock_timeout = '${LOCK_TIMEOUT}'`);
      // The session's own backend may take a moment to exit; counted, it would look like another session.
      for (const deadline = Date.now() + BACKEND_EXIT_WAIT_MS; Date.now() < deadline && !(await backendGone(admin, processId));)
        await new Promise((r) => setTimeout(r, 50));
      await lockUser(admin, session.user);
      objects = await this.objectsConnection(session, admin);
      await this.deactivate(admin, objects, session, processId);
    } catch (err) {
      session.emit(AuditEvent.UserDeactivate, FailedAuditCode[AuditEvent.UserDeactivate], {
        username: session.user,
        delete: false,
        success: false,
        error: (err as Error).message,
      });
    } finally {
      if (objects !== admin) objects?.close();
      admin?.close();
    }
  }

  /** Under the user's lock: keep disables, best_effort_drop drops (or disables when objects depend on the user). */
  private async deactivate(
    admin: SimpleQueryClient,
    objects: SimpleQueryClient | undefined,
    session: ProvisionedSession,
    processId: number,
  ): Promise<void> {
    const { user } = session;
    const state = await userState(admin, user);
    // Gone, not ours, or already disabled by the session that ended before: nothing to do.
    if (!state.exists || !state.managed || !state.canLogin) return;
    if ((await liveConnections(admin, user, processId)) > 0) return;
    const objectsConn = objects ?? admin;
    let dropped = false;
    await withRetries(() => admin.transaction(() => revokeAll(admin, objectsConn, user, state.roles)));
    if (session.autoUser.mode === 'best_effort_drop') {
      try {
        await withRetries(() => admin.query(`DROP ROLE ${id(user)}`));
        dropped = true;
      } catch (err) {
        // 2BP01: the user owns objects (or holds privileges elsewhere); fall back to keep.
        if (!(err instanceof PgError && err.code === '2BP01')) throw err;
      }
    }
    if (!dropped) await withRetries(() => admin.query(`ALTER ROLE ${id(user)} WITH NOLOGIN`));
    session.emit(AuditEvent.UserDeactivate, AuditCode[AuditEvent.UserDeactivate], { username: user, delete: dropped });
  }

  private async activateUser(
    admin: SimpleQueryClient,
    objects: SimpleQueryClient,
    session: ProvisionedSession,
  ): Promise<{ grants: TableGrant[]; grantAfter: boolean }> {
    const { user, database, autoUser } = session;
    const roles = [...autoUser.db_roles].sort();
    const state = await userState(admin, user);
    if (state.exists && !state.managed) throw notManaged(user);
    const wanted = autoUser.db_permissions.allow.length
      ? tableGrants(autoUser.db_permissions, await tables(objects), { database, service: this.service })
      : [];
    const current = state.exists ? await currentTableGrants(objects, user) : [];
    let grantAfter = false;
    if (state.exists && state.canLogin && (await liveConnections(admin, user)) > 0) {
      // Another session is using the user: join it with the same roles, or refuse.
      if (state.roles.join(',') !== roles.join(',') || !sameGrants(current, wanted)) throw rolesChanged(user);
    } else {
      if (!state.exists) await admin.query(`CREATE USER ${id(user)} IN ROLE ${id(AUTO_USER_GROUP)}`);
      else if (!state.canLogin) await admin.query(`ALTER ROLE ${id(user)} WITH LOGIN`);
      await setRoles(admin, user, state.roles, roles);
      if (objects === admin) await setTableGrants(objects, user, current, wanted);
      else grantAfter = true;
    }
    await ensureConnect(admin, user, database, this.admin.name);
    return { grants: wanted, grantAfter };
  }

  private async ensureGroup(admin: SimpleQueryClient): Promise<void> {
    if (this.groupReady) return;
    await withRetries(async () => {
      if (!(await groupExists(admin))) await createGroup(admin);
      await ensureGroupAdmin(admin);
    });
    this.groupReady = true;
  }

  /** Table privileges are granted in the session's database, which the admin may not be connected to. */
  private async objectsConnection(session: ProvisionedSession, admin: SimpleQueryClient): Promise<SimpleQueryClient> {
    if (this.lockDatabase(session) === session.database) return admin;
    if (!session.autoUser.db_permissions.allow.length && !session.autoUser.db_permissions.deny.length) return admin;
    return this.open(session.database, session.sid);
  }

  /** Teleport connects as the admin to admin_user.default_database, else to the session's database. */
  private lockDatabase(session: ProvisionedSession): string {
    return this.admin.default_database ?? session.database;
  }

  private async open(database: string, sid: string): Promise<SimpleQueryClient> {
    try {
      return new SimpleQueryClient(await this.dial(database, sid));
    } catch (err) {
      throw adminConnectError(err, this.admin.name, database);
    }
  }
}

export { ProvisioningError };
