import type { Duplex } from 'node:stream';
import { serialize } from 'pg-protocol/dist/serializer.js';
import { Parser } from 'pg-protocol/dist/parser.js';
import type { BackendMessage, DatabaseError } from 'pg-protocol/dist/messages.js';

export type Row = Record<string, string | null>;

/** An ErrorResponse from PostgreSQL, with its SQLSTATE. */
export class PgError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly detail?: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'PgError';
  }
}

interface Pending {
  sql: string;
  rows: Row[];
  columns: string[];
  error?: PgError;
  resolve(rows: Row[]): void;
  reject(err: Error): void;
}

/**
 * The simple Query protocol over an authenticated connection: Query, then RowDescription / DataRow /
 * CommandComplete / ErrorResponse until ReadyForQuery. Values come back as text (or null); queries run
 * one after another in the order asked.
 */
export class SimpleQueryClient {
  private readonly parser = new Parser();
  private readonly pending: Pending[] = [];
  private broken?: Error;

  constructor(private readonly socket: Duplex) {
    socket.on('data', (chunk: Buffer) => this.parser.parse(chunk, (msg) => this.onMessage(msg)));
    socket.on('error', (err: Error) => this.fail(err));
    socket.on('close', () => this.fail(new Error('the database closed the admin connection')));
    socket.resume();
  }

  query(sql: string): Promise<Row[]> {
    if (this.broken) return Promise.reject(this.broken);
    return new Promise((resolve, reject) => {
      this.pending.push({ sql, rows: [], columns: [], resolve, reject });
      this.socket.write(serialize.query(sql));
    });
  }

  /** Runs `fn` between BEGIN and COMMIT; rolls back when it throws. */
  async transaction<T>(fn: () => Promise<T>): Promise<T> {
    await this.query('BEGIN');
    try {
      const result = await fn();
      await this.query('COMMIT');
      return result;
    } catch (err) {
      await this.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  }

  /** Terminate, then the end of the stream. */
  close(): void {
    if (this.broken) return;
    this.broken = new Error('the admin connection is closed');
    this.socket.end(serialize.end());
  }

  private onMessage(msg: BackendMessage): void {
    const head = this.pending[0];
    switch (msg.name) {
      case 'rowDescription':
        if (head) head.columns = (msg as unknown as { fields: Array<{ name: string }> }).fields.map((f) => f.name);
        return;
      case 'dataRow': {
        if (!head) return;
        const values = (msg as unknown as { fields: Array<string | null> }).fields;
        head.rows.push(Object.fromEntries(head.columns.map((name, i) => [name, values[i] ?? null])));
        return;
      }
      case 'error': {
        const e = msg as unknown as DatabaseError;
        if (head && !head.error) head.error = new PgError(e.code ?? 'XX000', e.message, e.detail, e.hint);
        return;
      }
      case 'readyForQuery':
        if (!head) return;
        this.pending.shift();
        if (head.error) head.reject(head.error);
        else head.resolve(head.rows);
        return;
      default:
        return;
    }
  }

  private fail(err: Error): void {
    this.broken ??= err;
    for (const p of this.pending.splice(0)) p.reject(err);
  }
}

/** An identifier in double quotes: `"teleport-auto-user"`. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** A string literal, for a connection with standard_conforming_strings on (the default since 9.1). */
export function quoteLiteral(value: string): string {
  if (value.includes('\\') || value.includes('\0')) return `E'${value.replace(/\\/g, '\\\\').replace(/'/g, "''").replace(/\0/g, '')}'`;
  return `'${value.replace(/'/g, "''")}'`;
}
