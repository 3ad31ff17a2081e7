import { openSync, writeSync } from 'node:fs';
import type { LoggerService } from '@nestjs/common';

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

/**
 * The process logger, on stderr by default: on a terminal `2026-11-30 10:23:38.123 INFO  [db] message` in local
 * time; otherwise JSON lines (`timestamp` in UTC ISO 8601, `level`, `component`, `message`) for log
 * collectors. `debug` adds the debug lines. Never given SQL text, keys or passwords at info level.
 */
export class ServiceLogger implements LoggerService {
  private readonly min: number;
  private readonly format: LogFormat;
  private readonly colors: boolean;
  private readonly out: (line: string) => void;

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
    this.min = RANK[o.severity === 'warn' || o.severity === 'error' || o.severity === 'debug' ? o.severity : 'info'];
    const output = o.output ?? 'stderr';
    const stream = output === 'stdout' ? process.stdout : output === 'stderr' ? process.stderr : undefined;
    // A file: appended to with one write per line, so lines of a crash are not lost in a buffer.
    const fd = stream ? undefined : openSync(output, 'a', 0o640);
    this.out = stream ? (line) => void stream.write(line) : (line) => void writeSync(fd!, line);
    const toTerminal = Boolean(stream?.isTTY);
    this.format = logFormat(o.format, toTerminal);
    this.colors = this.format === 'text' && toTerminal && !process.env.NO_COLOR;
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
    const context = typeof params.at(-1) === 'string' ? (params.at(-1) as string) : undefined;
    const stack = params.length > 1 && typeof params[0] === 'string' ? params[0] : undefined;
    if (context && FRAMEWORK_CONTEXTS.has(context) && level === 'info') return;
    let text = typeof message === 'string' ? message : message instanceof Error ? message.message : JSON.stringify(message);
    if (context === 'Server') {
      const translated = natsStatus(text);
      if (translated) ({ level, message: text } = translated);
    }
    if (RANK[level] < this.min) return;
    const now = new Date();
    const component = context === 'Server' ? 'bus' : context;
    if (this.format === 'json') {
      const line = { timestamp: now.toISOString(), level, ...(component ? { component } : {}), message: text, ...(stack ? { stack } : {}) };
      this.out(`${JSON.stringify(line)}\n`);
      return;
    }
    const name = level.toUpperCase().padEnd(5);
    const where = component ? `[${component}] ` : '';
    const head = this.colors
      ? `${DIM}${localTime(now)}${RESET} ${COLOR[level]}${name}${RESET} ${DIM}${where}${RESET}`
      : `${localTime(now)} ${name} ${where}`;
    this.out(`${head}${text}\n${stack ? `${stack}\n` : ''}`);
  }
}
