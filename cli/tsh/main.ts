#!/usr/bin/env node
import { Command } from 'commander';
import { runCli } from '../shared/run.js';
import { registerVersion } from '../shared/version.js';
import { registerBenchCommands } from './bench-commands.js';
import { registerDbCommands } from './db-commands.js';
import type { TshGlobals } from './identity.js';
import { registerLoginCommands } from './login.js';
import { registerPlayCommand } from './play.js';
import { registerRecordingsCommands } from './recordings.js';

const program = new Command('tsh')
  .description('Log in to a dbaccess cluster and reach its databases')
  .option('--proxy <addr>', 'the cluster proxy, host:port')
  .option('--user <name>', 'your user name (default: your local login)')
  .option('-i, --identity <file>', 'identity file (from tctl auth sign --format=file)')
  .option('--insecure', "do not verify the proxy's certificate (first login to a self-signed cluster)")
  .option('-d, --debug', 'print stack traces of unexpected errors');

registerVersion(program);
registerLoginCommands(program, () => program.opts<TshGlobals>());
registerDbCommands(program, () => program.opts<TshGlobals>());
registerPlayCommand(program, () => program.opts<TshGlobals>());
registerBenchCommands(program, () => program.opts<TshGlobals>());
registerRecordingsCommands(program, () => program.opts<TshGlobals>());

await runCli(program);
