import { InternalError } from '#libs/common';

/** A test server (nats-server, PostgreSQL) did not start; the message carries its log tail. */
export class ServerStartError extends InternalError {}

/** psql exited non-zero; the message carries its stderr. */
export class PsqlError extends InternalError {}
