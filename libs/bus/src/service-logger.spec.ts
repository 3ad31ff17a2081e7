import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { context, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { StackContextManager } from '@opentelemetry/sdk-trace';
import { ServiceLogger, type ServiceLoggerOptions } from './service-logger.js';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN_ID = '00f067aa0ba902b7';
const TEXT_LINE = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} (DEBUG|INFO |WARN |ERROR|FATAL) (\[[\w-]+\] )?\S/;

interface Entry {
  time: string;
  level: string;
  service?: string;
  host_id?: string;
  sid?: string;
  trace_id?: string;
  span_id?: string;
  message: string;
  stack?: string;
  [field: string]: unknown;
}

/** A logger writing to a file of its own, and the lines it has written so far. */
function logTo(options: ServiceLoggerOptions) {
  const file = join(mkdtempSync(join(tmpdir(), 'log-')), 'teleport.log');
  const logger = new ServiceLogger({ output: file, ...options });
  const lines = () => readFileSync(file, 'utf8').split('\n').slice(0, -1);
  return { logger, lines, entries: () => lines().map((l) => JSON.parse(l) as Entry) };
}

const LOG_ENV = ['DBACCESS_LOG_FORMAT', 'DBACCESS_LOG_SEVERITY', 'DBACCESS_LOG_OUTPUT', 'DBACCESS_HOST_ID'];
const savedEnv = Object.fromEntries(LOG_ENV.map((k) => [k, process.env[k]]));

beforeAll(() => context.setGlobalContextManager(new StackContextManager().enable()));
afterAll(() => context.disable());

// The logger keeps what it chose in the environment, for worker threads; each test chooses afresh.
beforeEach(() => LOG_ENV.forEach((k) => delete process.env[k]));
afterAll(() => LOG_ENV.forEach((k) => (savedEnv[k] === undefined ? delete process.env[k] : (process.env[k] = savedEnv[k]))));

describe('ServiceLogger, JSON lines', () => {
  it('writes time, level, service and message, and no pid or hostname', () => {
    const { logger, lines, entries } = logTo({ format: 'json' });
    logger.log('the cluster is up', 'teleport');
    logger.warn('slow', 'db');
    logger.log('no context');
    const [up, slow, bare] = entries();
    expect(Object.keys(up!)).toEqual(['level', 'time', 'service', 'message']);
    expect(up).toMatchObject({ level: 'info', service: 'teleport', message: 'the cluster is up' });
    expect(new Date(up!.time).toISOString()).toBe(up!.time);
    expect(Math.abs(Date.parse(up!.time) - Date.now())).toBeLessThan(10_000);
    expect(slow).toMatchObject({ level: 'warn', service: 'db', message: 'slow' });
    expect(Object.keys(bare!)).toEqual(['level', 'time', 'message']);
    expect(lines()).toHaveLength(3);
  });

  it('keeps a message as it is, printf signs and quotes included', () => {
    const { logger, entries } = logTo({ format: 'json' });
    logger.log('100% "done" %s\nnext', 'db');
    expect(entries()[0]!.message).toBe('100% "done" %s\nnext');
  });

  it('writes the stack of an error, given as Nest gives it or as an Error', () => {
    const { logger, entries } = logTo({ format: 'json' });
    logger.error('boom', 'Error: boom\n    at here', 'proxy');
    logger.error(new Error('bang'), undefined, 'proxy');
    logger.fatal('gone', 'db');
    const [boom, bang, gone] = entries();
    expect(boom).toMatchObject({ level: 'error', service: 'proxy', message: 'boom', stack: 'Error: boom\n    at here' });
    expect(bang).toMatchObject({ level: 'error', service: 'proxy', message: 'bang' });
    expect(bang!.stack).toMatch(/^Error: bang\n\s+at /);
    expect(Object.keys(bang!).at(-1)).toBe('stack');
    expect(gone).toMatchObject({ level: 'fatal', service: 'db', message: 'gone' });
    expect(gone!.stack).toBeUndefined();
  });

  it('turns the fields of an object message into keys, its sid among them', () => {
    const { logger, entries } = logTo({ format: 'json' });
    logger.warn({ sid: 's-1', message: 'tunnel failed', user: 'alice', bytes: 12, err: new Error('reset') }, 'proxy');
    logger.log({ message: 'no shadowing', level: 'fatal', service: 'x', time: 0 }, 'proxy');
    logger.log({ not: 'a message' }, 'proxy');
    const [failed, shadow, other] = entries();
    expect(failed).toMatchObject({
      level: 'warn',
      service: 'proxy',
      sid: 's-1',
      message: 'tunnel failed',
      user: 'alice',
      bytes: 12,
      err: 'reset',
    });
    expect(shadow).toMatchObject({ level: 'info', service: 'proxy', message: 'no shadowing' });
    expect(typeof shadow!.time).toBe('string');
    expect(other!.message).toBe('{"not":"a message"}');
  });

  it('takes the trace from the active OpenTelemetry context', () => {
    const { logger, entries } = logTo({ format: 'json' });
    const span = trace.wrapSpanContext({ traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: 1 });
    context.with(trace.setSpan(ROOT_CONTEXT, span), () => {
      logger.log({ sid: 's-2', message: 'in a session' }, 'db');
      logger.log({ sid: 's-3', message: 'another session' }, 'db');
    });
    logger.log('outside', 'db');
    const invalid = trace.wrapSpanContext({ traceId: '0'.repeat(32), spanId: '0'.repeat(16), traceFlags: 0 });
    context.with(trace.setSpan(ROOT_CONTEXT, invalid), () => logger.log('invalid span', 'db'));
    const [inside, own, outside, noSpan] = entries();
    expect(inside).toMatchObject({ sid: 's-2', trace_id: TRACE_ID, span_id: SPAN_ID, message: 'in a session' });
    expect(own).toMatchObject({ sid: 's-3', trace_id: TRACE_ID, span_id: SPAN_ID });
    for (const e of [outside!, noSpan!]) {
      expect(e.sid).toBeUndefined();
      expect(e.trace_id).toBeUndefined();
      expect(e.span_id).toBeUndefined();
    }
  });
});

describe('ServiceLogger, severity', () => {
  it('writes info and up by default, debug and verbose lines only at debug', () => {
    const info = logTo({ format: 'json' });
    const debug = logTo({ format: 'json', severity: 'debug' });
    for (const { logger } of [info, debug]) {
      logger.debug('detail', 'db');
      logger.verbose('more detail', 'db');
      logger.log('news', 'db');
    }
    expect(info.entries().map((e) => e.level)).toEqual(['info']);
    expect(debug.entries().map((e) => [e.level, e.message])).toEqual([
      ['debug', 'detail'],
      ['debug', 'more detail'],
      ['info', 'news'],
    ]);
  });

  it('writes only warnings and worse at warn, and puts the severity in the environment for worker threads', () => {
    const { logger, entries } = logTo({ format: 'json', severity: 'warn' });
    expect(process.env.DBACCESS_LOG_SEVERITY).toBe('warn');
    expect(process.env.DBACCESS_LOG_FORMAT).toBe('json');
    const worker = new ServiceLogger();
    logger.log('news', 'db');
    worker.log('worker news', 'audit');
    logger.warn('careful', 'db');
    worker.error('worker trouble', undefined, 'audit');
    expect(entries().map((e) => e.message)).toEqual(['careful', 'worker trouble']);
  });

  it('returns before looking at the context or the message when the level is off', () => {
    const { logger, lines } = logTo({ format: 'json' });
    const active = jest.spyOn(context, 'active');
    const message = { toJSON: jest.fn(() => 'x') };
    try {
      logger.debug(message, 'db');
      expect(active).not.toHaveBeenCalled();
      expect(message.toJSON).not.toHaveBeenCalled();
      logger.log('on', 'db');
      expect(active).toHaveBeenCalled();
    } finally {
      active.mockRestore();
    }
    expect(lines()).toHaveLength(1);
  });
});

describe('ServiceLogger, what Nest says', () => {
  it("drops the framework's start-up chatter at info, not its warnings", () => {
    const { logger, entries } = logTo({ format: 'json' });
    logger.log('AppModule dependencies initialized', 'InstanceLoader');
    logger.log('Mapped {/healthz, GET} route', 'RouterExplorer');
    logger.log('Nest application successfully started', 'NestApplication');
    logger.warn('something odd', 'NestFactory');
    expect(entries().map((e) => [e.level, e.service, e.message])).toEqual([['warn', 'NestFactory', 'something odd']]);
  });

  it("says the NATS transport's status in our words, as the bus, its chatter at debug", () => {
    const info = logTo({ format: 'json' });
    const debug = logTo({ format: 'json', severity: 'debug' });
    for (const { logger } of [info, debug]) {
      logger.error('NatsError: type: "disconnect".', undefined, 'Server');
      logger.log('NatsStatus: type: "reconnect".', 'Server');
      logger.log('NatsStatus: type: "close", data: "x".', 'Server');
      logger.log('NatsStatus: type: "close"', 'db');
    }
    expect(info.entries().map((e) => [e.level, e.service, e.message])).toEqual([
      ['warn', 'bus', 'lost the connection to NATS; reconnecting'],
      ['info', 'bus', 'connected to NATS again'],
      ['info', 'db', 'NatsStatus: type: "close"'],
    ]);
    expect(debug.entries().map((e) => [e.level, e.message])).toEqual([
      ['warn', 'lost the connection to NATS; reconnecting'],
      ['info', 'connected to NATS again'],
      ['debug', 'NatsStatus: type: "close", data: "x".'],
      ['info', 'NatsStatus: type: "close"'],
    ]);
  });

  it("takes messages through Nest's Logger, context and all", () => {
    const { logger, entries } = logTo({ format: 'json' });
    Logger.overrideLogger(logger);
    const nest = new Logger('db');
    nest.log({ sid: 's-4', message: 'session started', db: 'orders' });
    nest.error('failed');
    nest.error('failed hard', 'Error: failed hard\n    at there');
    Logger.log('static', 'teleport');
    expect(entries().map(({ time: _, ...e }) => e)).toEqual([
      { level: 'info', service: 'db', sid: 's-4', db: 'orders', message: 'session started' },
      { level: 'error', service: 'db', message: 'failed' },
      { level: 'error', service: 'db', message: 'failed hard', stack: 'Error: failed hard\n    at there' },
      { level: 'info', service: 'teleport', message: 'static' },
    ]);
  });
});

describe('ServiceLogger, text lines', () => {
  it('writes local time, level and component, without colors off a terminal', () => {
    const { logger, lines } = logTo({ format: 'text', severity: 'debug' });
    logger.log('the cluster is up', 'teleport');
    logger.debug('config x', 'teleport');
    logger.error('boom', 'Error: boom\n    at here', 'db');
    logger.warn('no context');
    const [up, config, boom, stack, at, bare] = lines();
    for (const line of [up, config, boom, bare]) expect(line).toMatch(TEXT_LINE);
    expect(up).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} INFO {2}\[teleport\] the cluster is up$/);
    expect(config).toMatch(/ DEBUG \[teleport\] config x$/);
    expect(boom).toMatch(/ ERROR \[db\] boom$/);
    expect([stack, at]).toEqual(['Error: boom', '    at here']);
    expect(bare).toMatch(/ WARN  no context$/);
    expect(lines().join('\n')).not.toContain('\x1b[');
  });

  it('writes local time', () => {
    const { logger, lines } = logTo({ format: 'text' });
    logger.log('now', 'db');
    const [, date, time] = /^(\S+) (\S+) /.exec(lines()[0]!)!;
    // Without an offset, Date.parse reads a date-time as local time.
    expect(Math.abs(Date.parse(`${date}T${time}`) - Date.now())).toBeLessThan(10_000);
  });

  it("names an object message's session first and its fields after, and the session once", () => {
    const { logger, lines } = logTo({ format: 'text' });
    logger.warn({ sid: 's-1', message: 'tunnel failed', user: 'alice', reason: 'reset by peer', n: 2 }, 'proxy');
    logger.log({ sid: 's-2', message: 'session s-2: ended' }, 'db');
    logger.log({ sid: 's-2', message: 'quota reached' }, 'db');
    const [failed, ended, quota] = lines();
    expect(failed).toMatch(/ WARN {2}\[proxy\] session s-1: tunnel failed user=alice reason="reset by peer" n=2$/);
    expect(ended).toMatch(/ INFO {2}\[db\] session s-2: ended$/);
    expect(quota).toMatch(/ INFO {2}\[db\] session s-2: quota reached$/);
  });
});

// Last: the host id, once set, stays for the rest of the process.
describe('ServiceLogger, host id', () => {
  it('names the host once set, and puts it in the environment for worker threads', () => {
    const { logger, entries } = logTo({ format: 'json' });
    logger.log('before', 'db');
    ServiceLogger.setHostId('host-1');
    logger.log('after', 'db');
    expect(process.env.DBACCESS_HOST_ID).toBe('host-1');
    const [before, after] = entries();
    expect(before!.host_id).toBeUndefined();
    expect(Object.keys(after!)).toEqual(['level', 'time', 'service', 'host_id', 'message']);
    expect(after!.host_id).toBe('host-1');
  });
});
