#!/usr/bin/env node
import { Command } from 'commander';
import { runCli } from '../shared/run.js';
import { registerVersion } from '../shared/version.js';
import { registerAuthCommands, registerStatusCommand } from './auth.js';
import type { TctlGlobals } from './credentials.js';
import { registerLockCommand } from './lock.js';
import { registerResourceCommands } from './resources.js';
import { registerTokenCommands } from './tokens.js';
import { registerUserCommands } from './users.js';

const program = new Command('tctl')
  .description('Administer a dbaccess cluster')
  .option('-c, --config <file>', 'teleport.yaml of this host (default /etc/teleport.yaml)')
  .option('--auth-server <addr>', 'the proxy to talk to, host:port')
  .option('-i, --identity <file>', 'identity file (from tctl auth sign --format=file)')
  .option('--insecure', "do not verify the proxy's certificate")
  .option('-d, --debug', 'print stack traces of unexpected errors');

const globals = () => program.opts<TctlGlobals>();
registerVersion(program);
registerUserCommands(program, globals);
registerResourceCommands(program, globals);
registerTokenCommands(program, globals);
registerLockCommand(program, globals);
registerAuthCommands(program, globals);
registerStatusCommand(program, globals);

await runCli(program);
