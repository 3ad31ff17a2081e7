import pg from 'pg';
import type { ClientConfig } from 'pg';

/** What a failed connection attempt showed the client: the ErrorResponse's fields, or how it broke off. */
export interface ConnectFailure {
  severity?: string;
  code?: string;
  message: string;
}

const CONNECT_TIMEOUT_MS = 20_000;

/** Connects with node-postgres, runs `sql` and ends; resolves to the rows. */
export async function queryOnce<T = Record<string, unknown>>(config: ClientConfig, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionTimeoutMillis: CONNECT_TIMEOUT_MS, ...config });
  client.on('error', () => {});
  try {
    await client.connect();
    const { rows } = await client.query(sql);
    return rows as T[];
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Connects with node-postgres where the connection must be refused; resolves to the error the client
 * saw (severity and SQLSTATE when the server sent an ErrorResponse), throws if it connected.
 */
export async function connectFailure(config: ClientConfig): Promise<ConnectFailure> {
  const client = new pg.Client({ connectionTimeoutMillis: CONNECT_TIMEOUT_MS, ...config });
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (err) {
    const e = err as Error & { severity?: string; code?: string };
    return {
      ...(e.severity !== undefined ? { severity: e.severity } : {}),
      ...(e.code !== undefined ? { code: e.code } : {}),
      message: e.message,
    };
  }
  await client.end().catch(() => undefined);
  throw new Error('the connection was expected to be refused, but it was accepted');
}
