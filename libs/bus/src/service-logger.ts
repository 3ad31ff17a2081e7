import { ConsoleLogger } from '@nestjs/common';

/** Nest's own start-up chatter (module wiring, route mapping) says nothing an operator needs. */
const FRAMEWORK_CONTEXTS = new Set([
  'NestFactory',
  'InstanceLoader',
  'NestMicroservice',
  'RoutesResolver',
  'RouterExplorer',
  'NestApplication',
]);

/**
 * The process logger: JSON lines when stderr is not a terminal (for log collectors), readable
 * lines on a terminal. Never given SQL text, keys or passwords at info level.
 */
export class ServiceLogger extends ConsoleLogger {
  constructor(debug = false) {
    super({
      json: !process.stderr.isTTY,
      colors: Boolean(process.stderr.isTTY),
      logLevels: debug ? ['debug', 'log', 'warn', 'error', 'fatal'] : ['log', 'warn', 'error', 'fatal'],
    });
  }

  override log(message: unknown, context?: string): void {
    if (context && FRAMEWORK_CONTEXTS.has(context)) return;
    super.log(message, context);
  }
}
