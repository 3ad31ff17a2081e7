import { RpcClient } from '#libs/bus';
import { Bus } from './request-tracing.js';
import { Controller, Get, Param, Query, Req, Res } from '@nestjs/common';
import type { Response } from 'express';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { AccessDeniedError, BadParameterError, checkSessionId, NotFoundError, toErrorBody } from '#libs/common';
import { AuditRpc, Rpc, Streams } from '#libs/events';
import { sessionAccess } from '#libs/rbac';
import { liveSession } from '../audit/live-session.js';
import { Authorize, type AuthorizedRequest } from './authorize.guard.js';
import { WebUi } from './web-session.js';

/** The proxy's NATS handles for following live sessions on the AUDIT stream. */
export class AuditStreams {
  constructor(
    readonly js: JetStreamClient,
    readonly jsm: JetStreamManager,
  ) {}
}

type QueryParams = Record<string, string | undefined>;

const FOLLOW_LOOKBACK_MS = 60_000;
/** Events in the first page of a playback: its first statement shows before a long session's next 2,000 are read. */
const FIRST_PAGE_EVENTS = 100;

function positiveInt(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new BadParameterError(`${name} must be a positive number, got "${value}"`);
  return Number(value);
}

function time(value: string | undefined, name: string): string | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new BadParameterError(`${name} must be a date or time (2026-11-21 or 2026-11-21T10:00:00Z), got "${value}"`);
  return new Date(ms).toISOString();
}

/**
 * Recorded sessions and audit events for `tsh play` and `tsh recordings ls`. A user whose roles
 * allow list/read on `session` (auditor, editor) sees everyone's; other users see only their own.
 */
@Controller('v1/webapi')
export class AuditController {
  constructor(private readonly streams: AuditStreams) {}

  @Get('sessions')
  @Authorize()
  @WebUi()
  async list(@Bus() rpc: RpcClient, @Req() req: AuthorizedRequest, @Query() q: QueryParams): Promise<AuditRpc.SessionsPage> {
    const request: AuditRpc.SessionsListRequest = this.filters(req, q);
    return rpc.call<AuditRpc.SessionsPage>(Rpc.Audit.SessionsList, request);
  }

  @Get('events')
  @Authorize()
  @WebUi()
  async search(@Bus() rpc: RpcClient, @Req() req: AuthorizedRequest, @Query() q: QueryParams): Promise<AuditRpc.EventsPage> {
    const request: AuditRpc.EventsSearchRequest = {
      ...this.filters(req, q),
      ...(q.sid ? { sid: q.sid } : {}),
      ...(q.type ? { event_types: q.type.split(',') } : {}),
    };
    return rpc.call<AuditRpc.EventsPage>(Rpc.Audit.EventsSearch, request);
  }

  /** The query's time, user and database filters and paging, the user narrowed to what the caller may list. */
  private filters(req: AuthorizedRequest, q: QueryParams) {
    const user = this.scopeUser(req, 'list', q.user);
    return {
      ...(q.from ? { from: time(q.from, 'from') } : {}),
      ...(q.to ? { to: time(q.to, 'to') } : {}),
      ...(user ? { user } : {}),
      ...(q.db ? { db: q.db } : {}),
      ...(q.limit ? { limit: Math.min(1000, positiveInt(q.limit, 'limit')!) } : {}),
      ...(q.cursor ? { cursor: q.cursor } : {}),
    };
  }

  @Get('sessions/:sid')
  @Authorize()
  @WebUi()
  async get(@Bus() rpc: RpcClient, @Req() req: AuthorizedRequest, @Param('sid') sid: string): Promise<AuditRpc.SessionSummary> {
    checkSessionId(sid);
    const session = await rpc.call<AuditRpc.SessionSummary>(Rpc.Audit.SessionsGet, { sid });
    this.checkRead(req, sid, session.user);
    return session;
  }

  /**
   * The session's events as JSON lines, in `ei` order: from the index, or with `follow=true` from
   * the AUDIT stream as they happen, until the session ends. Lines are written as soon as they are
   * read, so playback starts before a long session has been read to its end.
   */
  @Get('sessions/:sid/events')
  @Authorize()
  @WebUi()
  async events(
    @Bus() rpc: RpcClient,
    @Req() req: AuthorizedRequest,
    @Param('sid') sid: string,
    @Query() q: QueryParams,
    @Res() res: Response,
  ): Promise<void> {
    checkSessionId(sid);
    const follow = q.follow === 'true' || q.follow === '1';
    const known = await this.findSession(rpc, sid, follow);
    this.checkRead(req, sid, known.user);
    const aborted = new AbortController();
    res.on('close', () => aborted.abort());
    res.status(200).type('application/x-ndjson');
    res.flushHeaders();
    const write = async (event: unknown) => {
      if (res.write(JSON.stringify(event) + '\n') || aborted.signal.aborted) return;
      // A reader that goes away sends no 'drain': its 'close' ends the wait (and the feed, by the abort).
      await new Promise<void>((resolve) => {
        const done = () => {
          res.off('drain', done);
          res.off('close', done);
          resolve();
        };
        res.on('drain', done);
        res.on('close', done);
      });
    };
    try {
      if (follow) {
        const since = known.start ? new Date(Date.parse(known.start) - FOLLOW_LOOKBACK_MS) : undefined;
        for await (const event of liveSession(this.streams.js, sid, since, aborted.signal)) await write(event);
      } else {
        const read = (after: number, limit?: number) =>
          rpc.call<AuditRpc.SessionEventsPage>(Rpc.Audit.SessionEvents, { sid, after_ei: after, ...(limit ? { limit } : {}) });
        // A small first page, so playback starts at once; each next page is read while this one is written.
        let next: Promise<AuditRpc.SessionEventsPage> | undefined = read(-1, FIRST_PAGE_EVENTS);
        try {
          while (next && !aborted.signal.aborted) {
            const page: AuditRpc.SessionEventsPage = await next;
            const last = page.events.at(-1)?.ei as number | undefined;
            next = page.more && last !== undefined ? read(last) : undefined;
            for (const event of page.events) await write(event);
          }
        } finally {
          void next?.catch(() => undefined); // read ahead for a reader that went away
        }
      }
    } catch (err) {
      // The status line is gone already: the error travels as the last line.
      if (!aborted.signal.aborted) res.write(JSON.stringify({ error: toErrorBody(err) }) + '\n');
    }
    res.end();
  }

  /**
   * The session's owner and start, from the index; for a live session the index may not have yet,
   * from the AUDIT stream itself.
   */
  private async findSession(rpc: RpcClient, sid: string, follow: boolean): Promise<{ user: string; start?: string }> {
    try {
      return await rpc.call<AuditRpc.SessionSummary>(Rpc.Audit.SessionsGet, { sid });
    } catch (err) {
      if (!(err instanceof NotFoundError) || !follow) throw err;
    }
    const latest = await this.streams.jsm.streams.getMessage(Streams.Audit.name, { last_by_subj: `audit.${sid}.>` }).catch(() => null);
    const user = ownerOf(latest?.string());
    if (typeof user !== 'string') throw new NotFoundError(`session ${sid} not found`);
    return { user };
  }

  /** Whose sessions the caller may list: undefined for everyone's. */
  private scopeUser(req: AuthorizedRequest, verb: 'list', asked: string | undefined): string | undefined {
    if (req.caller.kind === 'builtin') return asked;
    const scope = sessionAccess(req.callerRoles, verb);
    if (scope === 'all') return asked;
    if (scope === 'none') throw new AccessDeniedError(`access denied: the roles of user "${req.caller.name}" forbid listing sessions`);
    if (asked && asked !== req.caller.name) {
      throw new AccessDeniedError(
        `access denied: user "${req.caller.name}" may list only their own sessions; ` +
          `listing those of "${asked}" needs a role that allows "list" on "session" (such as auditor)`,
      );
    }
    return req.caller.name;
  }

  private checkRead(req: AuthorizedRequest, sid: string, owner: string): void {
    if (req.caller.kind === 'builtin') return;
    const scope = sessionAccess(req.callerRoles, 'read');
    if (scope === 'all' || (scope === 'own' && owner === req.caller.name)) return;
    throw new AccessDeniedError(
      scope === 'none'
        ? `access denied: the roles of user "${req.caller.name}" forbid reading sessions`
        : `access denied to session ${sid}: user "${req.caller.name}" may play only their own sessions; ` +
            `playing those of other users needs a role that allows "read" on "session" (such as auditor)`,
    );
  }
}

/** The `user` of an audit event's JSON; undefined for anything else on the stream. */
function ownerOf(json: string | undefined): unknown {
  try {
    return (JSON.parse(json ?? 'null') as { user?: unknown } | null)?.user;
  } catch {
    return undefined;
  }
}
