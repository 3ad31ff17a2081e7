#!/usr/bin/env node
import 'reflect-metadata';
import { Command } from 'commander';
import { VERSION } from '#libs/common';
import { runCli } from '../shared/run.js';
import { registerConfigureCommand } from './configure.js';
import { registerDbConfigureCommand } from './db.js';
import { registerNatsCommands } from './nats.js';
import { registerDbStartCommand, registerStartCommand } from './start.js';

const program = new Command('teleport').description('Run dbaccess cluster services').version(VERSION, '--version');
registerStartCommand(program);
registerConfigureCommand(program);
const db = program.command('db').description('The Database Service');
registerDbStartCommand(db);
registerDbConfigureCommand(db);
registerNatsCommands(program);
program
  .command('version')
  .description('Print the version')
  .action(() => {
    process.stdout.write(`dbaccess teleport v${VERSION}\n`);
  });

await runCli(program);
