#!/usr/bin/env node
import 'reflect-metadata';
import { Command } from 'commander';
import { runCli } from '../shared/run.js';
import { registerVersion } from '../shared/version.js';
import { registerConfigureCommand } from './configure.js';
import { registerDbConfigureCommand } from './db.js';
import { registerInstallCommands } from './install.js';
import { registerNatsCommands } from './nats.js';
import { registerDbStartCommand, registerStartCommand } from './start.js';

const program = new Command('teleport').description('Run dbaccess cluster services');
registerVersion(program);
registerStartCommand(program);
registerConfigureCommand(program);
const db = program.command('db').description('The Database Service');
registerDbStartCommand(db);
registerDbConfigureCommand(db);
registerNatsCommands(program);
registerInstallCommands(program);

await runCli(program);
