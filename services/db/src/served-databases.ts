import { isDeepStrictEqual } from 'node:util';
import { Logger } from '@nestjs/common';
import type { RpcClient } from '#libs/bus';
import type { DatabaseConfig, DbResource } from '#libs/config';
import { Rpc } from '#libs/events';

/** How often the `kind: db` resources the selectors match are looked up again: what a create or delete waits at most. */
export const RESOURCES_POLL_MS = 5_000;

/** A database this service serves: from its config or flags, or a `kind: db` resource its selectors match. */
export type ServedDatabase = DatabaseConfig & {
  origin: 'config' | 'dynamic';
  /** A dynamic database's own CA for its server certificate (the resource's spec.tls.ca_cert). */
  caPem?: string;
};

/** A `kind: db` resource as a database to serve. */
export function fromResource(resource: DbResource): ServedDatabase {
  const { metadata, spec } = resource;
  const tls = spec.tls && {
    ...(spec.tls.mode ? { mode: spec.tls.mode } : {}),
    ...(spec.tls.server_name ? { server_name: spec.tls.server_name } : {}),
    ...(spec.tls.trust_system_cert_pool !== undefined ? { trust_system_cert_pool: spec.tls.trust_system_cert_pool } : {}),
  };
  return {
    name: metadata.name,
    ...(metadata.description ? { description: metadata.description } : {}),
    protocol: spec.protocol,
    uri: spec.uri,
    ...(tls ? { tls } : {}),
    ...(spec.admin_user ? { admin_user: spec.admin_user } : {}),
    ...(spec.aws ? { aws: spec.aws } : {}),
    static_labels: metadata.labels ?? {},
    origin: 'dynamic',
    ...(spec.tls?.ca_cert ? { caPem: spec.tls.ca_cert } : {}),
  };
}

export interface ServedChange {
  added: ServedDatabase[];
  /** Changed databases are removed, then added again as they are now. */
  removed: ServedDatabase[];
}

/**
 * The databases this Database Service serves: its own, and the `kind: db` resources one of its
 * `db_service.resources` selectors matches, looked up every RESOURCES_POLL_MS. A resource named like one
 * of its own databases is not served (its own wins). When the lookup fails, what was served stays.
 */
export class ServedDatabases {
  private readonly logger = new Logger('db');
  private readonly own: Map<string, ServedDatabase>;
  private dynamic = new Map<string, ServedDatabase>();
  private timer?: NodeJS.Timeout;
  private refreshing?: Promise<void>;
  private shadowed = new Set<string>();

  constructor(
    own: DatabaseConfig[],
    private readonly selectors: Array<Record<string, string | string[]>>,
    private readonly rpc: RpcClient,
    private readonly onChange: (change: ServedChange) => Promise<void>,
  ) {
    this.own = new Map(own.map((db) => [db.name, { ...db, origin: 'config' as const }]));
  }

  all(): ServedDatabase[] {
    return [...this.own.values(), ...this.dynamic.values()];
  }

  find(name: string): ServedDatabase | undefined {
    return this.own.get(name) ?? this.dynamic.get(name);
  }

  /** Looks the resources up once now, then every RESOURCES_POLL_MS (only with selectors). */
  async start(): Promise<void> {
    if (!this.selectors.length) return;
    await this.refresh();
    this.timer = setInterval(() => void this.refresh(), RESOURCES_POLL_MS);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.refreshing;
  }

  /** One lookup; a second call while one runs waits for it. */
  refresh(): Promise<void> {
    this.refreshing ??= this.lookup().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  private async lookup(): Promise<void> {
    let resources: DbResource[];
    try {
      resources = await this.rpc.call<DbResource[]>(Rpc.Inventory.DbsMatching, { selectors: this.selectors });
    } catch (err) {
      this.logger.warn(
        `cannot look up the db resources db_service.resources selects: ${(err as Error).message}; serving what was found before`,
      );
      return;
    }
    const next = new Map<string, ServedDatabase>();
    for (const resource of resources) {
      const name = resource.metadata.name;
      if (this.own.has(name)) {
        if (!this.shadowed.has(name))
          this.logger.warn(`db resource "${name}" is not served here: this Database Service has a database of that name in its own config`);
        this.shadowed.add(name);
        continue;
      }
      next.set(name, fromResource(resource));
    }
    const removed = [...this.dynamic.values()].filter((db) => !isDeepStrictEqual(next.get(db.name), db));
    const added = [...next.values()].filter((db) => !isDeepStrictEqual(this.dynamic.get(db.name), db));
    this.dynamic = next;
    if (added.length || removed.length) await this.onChange({ added, removed });
  }
}
