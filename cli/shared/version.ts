import { Option, type Command } from 'commander';
import { versionInfo, versionLine } from '#libs/common';

/** `version` and `--version`, as Teleport's three binaries have them: one line, or JSON with --format=json. */
export function registerVersion(program: Command): void {
  program.version(versionLine(), '--version', 'print the version and exit');
  program
    .command('version')
    .description('Print the version of the Teleport release whose interface this follows, and ours')
    .addOption(new Option('-f, --format <format>', 'output format').choices(['text', 'json']).default('text'))
    .action((opts: { format: 'text' | 'json' }) => {
      process.stdout.write(opts.format === 'json' ? `${JSON.stringify(versionInfo(), null, 2)}\n` : `${versionLine()}\n`);
    });
}
