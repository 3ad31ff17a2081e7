import { openSync } from 'node:fs';
import type { LoggerService } from '@nestjs/common';
import { context, isSpanContextValid, trace, type SpanContext } from '@opentelemetry/api';
import { pino, type DestinationStream, type Logger } from 'pino';

/** Nest's own start-up chatter (module wiring, route mapping) says nothing an operator needs. */
const FRAMEWORK_CONTEXTS = new Set([
  'NestFactory',
  'InstanceLoader',
  'NestMicroservice',
  'RoutesResolver',
  'RouterExplorer',
  'NestApplication',
]);

type Level = 'debug' | 'info' | 'warn' | 'error' | 'fatal';
const RANK: Record<Level, number> = { debug: 0, info: 1, warn: 2, error: 3, fatal: 4 };
const COLOR: Record<Level, string> = { debug: '\x1b[90m', info: '\x1b[32m', warn: '\x1b[33m', error: '\x1b[31m', fatal: '\x1b[1;31m' };
const RESET = '\x1b[0m';
const DIM = '\x1b[2m';

/** Keys of a JSON line the logger writes itself; a caller's field of the same name would shadow them. */
const OWN_KEYS = new Set(['time', 'level', 'service', 'host_id', 'sid', 'trace_id', 'span_id', 'message', 'stack']);

/** Set once the process knows its host id; worker threads read it from the environment. */
let hostId: string | undefined = process.env.DBACCESS_HOST_ID || undefined;

/** How logs are written: `text` for a person at a terminal, `json` lines for a collector. */
export type LogFormat = 'text' | 'json';

/**
 * DBACCESS_LOG_FORMAT when set, else the config's, else text on a terminal and JSON lines otherwise.
 * Set in the environment once chosen, so worker threads (whose stderr is never a terminal) write as
 * their process does.
 */
function logFormat(configured: LogFormat | undefined, toTerminal: boolean): LogFormat {
  const chosen = process.env.DBACCESS_LOG_FORMAT;
  if (chosen === 'text' || chosen === 'json') return chosen;
  const format: LogFormat = configured ?? (toTerminal ? 'text' : 'json');
  process.env.DBACCESS_LOG_FORMAT = format;
  return format;
}

export interface ServiceLoggerOptions {
  /** The least severity written (teleport.log.severity); --debug makes it debug. */
  severity?: 'debug' | 'info' | 'warn' | 'error';
  /** stderr (default), stdout, or a file the lines are appended to (teleport.log.output). */
  output?: string;
  /** teleport.log.format.output; by default chosen by whether the output is a terminal. */
  format?: LogFormat;
}

/** One line to write, the same for both formats. */
interface LogRecord {
  level: Level;
  message: string;
  service: string | undefined;
  sid: string | undefined;
  fields: Record<string, unknown> | undefined;
  stack: string | undefined;
  span: SpanContext | undefined;
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/** Local time as a person reads it: 2026-11-30 10:23:38.123 */
function localTime(d: Date): string {
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`
  );
}

/**
 * What Nest's NATS transport says about its connection, in our words: reconnects and losses are worth
 * a line, its other status chatter (a "close" at every shutdown) only with --debug.
 */
function natsStatus(message: string): { level: Level; message: string } | undefined {
  if (message.startsWith('NatsError: type: "disconnect"')) return { level: 'warn', message: 'lost the connection to NATS; reconnecting' };
  if (message.startsWith('NatsStatus: type: "reconnect"')) return { level: 'info', message: 'connected to NATS again' };
  if (message.startsWith('NatsStatus:')) return { level: 'debug', message };
  return undefined;
}

/** A value as text; a cycle or a BigInt must not make logging throw. */
function stringify(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/** A caller's field as JSON takes it: an error by its message, as JSON.stringify would write `{}`. */
function fieldValue(value: unknown): unknown {
  return value instanceof Error ? value.message : value;
}

/** A field's value in a text line: bare when that reads unambiguously, quoted otherwise. */
function textValue(value: unknown): string {
  const v = fieldValue(value);
  if (typeof v === 'string') return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
  return stringify(v);
}

/** Where lines go; synchronous, so the last lines before a crash or exit are written. */
function destination(output: string): DestinationStream {
  if (output === 'stderr') return pino.destination({ fd: 2, sync: true });
  if (output === 'stdout') return pino.destination({ fd: 1, sync: true });
  // Opened here so a file that cannot be opened fails the start, as it always has.
  return pino.destination({ fd: openSync(output, 'a', 0o640), sync: true });
}

/**
 * The process logger, on stderr by default: on a terminal `2026-11-30 10:23:38.123 INFO  [db] message` in local
 * time; otherwise JSON lines from pino (`level`, `time` in UTC ISO 8601, `service`, `host_id`, `sid`,
 * `trace_id`, `span_id`, the caller's fields, `message`, `stack`) for log collectors. `debug` adds the
 * debug lines. Never given SQL text, keys or passwords at info level.
 *
 * A message may be `{ message, sid?, ...fields }`: the fields become JSON keys, or ` key=value` in text.
 */
export class ServiceLogger implements LoggerService {
  private readonly min: number;
  private readonly format: LogFormat;
  private readonly colors: boolean;
  private readonly dest: DestinationStream;
  private readonly json: Logger | undefined;

  /**
   * The host id on every JSON line of the process, its worker threads' too (through the environment, so
   * set it before starting them).
   */
  static setHostId(id: string): void {
    hostId = id;
    process.env.DBACCESS_HOST_ID = id;
  }

  /**
   * With options (the process's main logger), they are also put in the environment, so a worker
   * thread's `new ServiceLogger()` writes where and as much as its process does.
   */
  constructor(debugOrOptions: boolean | ServiceLoggerOptions = false) {
    const o: ServiceLoggerOptions =
      typeof debugOrOptions === 'boolean'
        ? {
            severity: debugOrOptions ? 'debug' : (process.env.DBACCESS_LOG_SEVERITY as ServiceLoggerOptions['severity']),
            ...(process.env.DBACCESS_LOG_OUTPUT ? { output: process.env.DBACCESS_LOG_OUTPUT } : {}),
          }
        : debugOrOptions;
    if (typeof debugOrOptions !== 'boolean') {
      if (o.severity) process.env.DBACCESS_LOG_SEVERITY = o.severity;
      if (o.output) process.env.DBACCESS_LOG_OUTPUT = o.output;
    }
    const severity = o.severity === 'warn' || o.severity === 'error' || o.severity === 'debug' ? o.severity : 'info';
    this.min = RANK[severity];
    const output = o.output ?? 'stderr';
    this.dest = destination(output);
    const stream = output === 'stdout' ? process.stdout : output === 'stderr' ? process.stderr : undefined;
    const toTerminal = Boolean(stream?.isTTY);
    this.format = logFormat(o.format, toTerminal);
    this.colors = this.format === 'text' && toTerminal && !process.env.NO_COLOR;
    this.json =
      this.format === 'json'
        ? pino(
            {
              level: severity,
              // host_id names the host; pid and hostname would only repeat it less usefully.
              base: undefined,
              messageKey: 'message',
              timestamp: pino.stdTimeFunctions.isoTime,
              formatters: { level: (label) => ({ level: label }) },
            },
            this.dest,
          )
        : undefined;
  }

  log(message: unknown, ...params: unknown[]): void {
    this.write('info', message, params);
  }

  warn(message: unknown, ...params: unknown[]): void {
    this.write('warn', message, params);
  }

  error(message: unknown, ...params: unknown[]): void {
    this.write('error', message, params);
  }

  fatal(message: unknown, ...params: unknown[]): void {
    this.write('fatal', message, params);
  }

  debug(message: unknown, ...params: unknown[]): void {
    this.write('debug', message, params);
  }

  verbose(message: unknown, ...params: unknown[]): void {
    this.write('debug', message, params);
  }

  private write(level: Level, message: unknown, params: unknown[]): void {
    // Nest's convention: the last parameter is the context; an error's first may be a stack.
    const last = params.at(-1);
    const nestContext = typeof last === 'string' ? last : undefined;
    if (level === 'info' && nestContext !== undefined && FRAMEWORK_CONTEXTS.has(nestContext)) return;
    if (nestContext === 'Server' && typeof message === 'string') {
      const translated = natsStatus(message);
      if (translated) ({ level, message } = translated);
    }
    if (RANK[level] < this.min) return;
    const record = this.record(level, message, nestContext, params.length > 1 && typeof params[0] === 'string' ? params[0] : undefined);
    if (this.json) this.writeJson(this.json, record);
    else this.writeText(record);
  }

  private record(level: Level, message: unknown, nestContext: string | undefined, stack: string | undefined): LogRecord {
    let text: string;
    let sid: string | undefined;
    let fields: Record<string, unknown> | undefined;
    if (typeof message === 'string') text = message;
    else if (message instanceof Error) {
      text = message.message;
      stack ??= message.stack;
    } else if (isPlainObject(message) && typeof message.message === 'string') {
      text = message.message;
      if (message.sid !== undefined && message.sid !== null) sid = String(message.sid);
      if (typeof message.stack === 'string') stack ??= message.stack;
      for (const key of Object.keys(message)) {
        if (!OWN_KEYS.has(key) && message[key] !== undefined) (fields ??= {})[key] = fieldValue(message[key]);
      }
    } else text = stringify(message);
    // The span of the synchronous work that logs (telemetry.ts): none without tracing.
    const span = trace.getSpan(context.active())?.spanContext();
    return {
      level,
      message: text,
      service: nestContext === 'Server' ? 'bus' : nestContext,
      sid,
      fields,
      stack,
      span: span && isSpanContextValid(span) ? span : undefined,
    };
  }

  private writeJson(json: Logger, r: LogRecord): void {
    // The message goes in the object, after the fields, so pino neither printf-formats it nor puts it after the stack.
    json[r.level]({
      service: r.service,
      host_id: hostId,
      sid: r.sid,
      trace_id: r.span?.traceId,
      span_id: r.span?.spanId,
      ...r.fields,
      message: r.message,
      stack: r.stack,
    });
  }

  private writeText(r: LogRecord): void {
    const name = r.level.toUpperCase().padEnd(5);
    const where = r.service ? `[${r.service}] ` : '';
    const time = localTime(new Date());
    const head = this.colors ? `${DIM}${time}${RESET} ${COLOR[r.level]}${name}${RESET} ${DIM}${where}${RESET}` : `${time} ${name} ${where}`;
    // Most lines already name their session; the context's sid must not say it twice.
    const session = r.sid !== undefined && !r.message.includes(r.sid) ? `session ${r.sid}: ` : '';
    let suffix = '';
    if (r.fields) for (const [key, value] of Object.entries(r.fields)) suffix += ` ${key}=${textValue(value)}`;
    // One write per line (and its stack), so lines are whole even when threads share the output.
    this.dest.write(`${head}${session}${r.message}${suffix}\n${r.stack ? `${r.stack}\n` : ''}`);
  }
}
