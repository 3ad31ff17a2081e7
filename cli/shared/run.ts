import { Command, CommanderError } from 'commander';
import { DomainError, ErrorCode } from '#libs/common';

/**
 * Runs a CLI program: every failure becomes one `ERROR: ...` line on stderr and exit code 1, as
 * Teleport's tools do. Unexpected errors print their stack only with --debug.
 */
export async function runCli(program: Command, argv = process.argv): Promise<void> {
  // Every command, not only the program: subcommands keep the settings they were created with.
  const all = (c: Command): Command[] => [c, ...c.commands.flatMap(all)];
  for (const command of all(program)) {
    command.exitOverride();
    command.configureOutput({
      writeErr: (text) => process.stderr.write(text),
      // Commander's own errors (an unknown command or option) in our one style.
      outputError: (text, write) => write(text.replace(/^error: /, 'ERROR: ')),
    });
  }
  try {
    await program.parseAsync(argv);
  } catch (err) {
    // Exit now: open connections of a half-started command must not keep the process alive.
    if (err instanceof CommanderError) process.exit(err.exitCode);
    reportError(err);
    process.exit(1);
  }
}

function reportError(err: unknown): void {
  const debug = process.argv.includes('--debug') || process.argv.includes('-d');
  process.stderr.write(`ERROR: ${err instanceof Error ? err.message : String(err)}\n`);
  if (!debug) return;
  if (err instanceof DomainError && err.code === ErrorCode.Internal && err.cause) console.error(err.cause);
  else if (!(err instanceof DomainError) && err instanceof Error) console.error(err.stack);
}

/** Splits comma-separated flag values: `--roles=a,b`. */
export function list(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}
