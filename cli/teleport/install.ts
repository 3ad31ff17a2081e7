import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { BadParameterError } from '#libs/common';

export interface SystemdUnitOptions {
  /** How systemd runs teleport: an executable path, or the Node binary and our script. */
  teleportPath: string;
  config: string;
  envFile: string;
  pidFile: string;
  fdLimit: number;
}

/** The unit Teleport's `teleport install systemd` writes, running `teleport start` with its config. */
export function systemdUnit(o: SystemdUnitOptions): string {
  return [
    '[Unit]',
    'Description=Teleport Service',
    'After=network.target',
    '',
    '[Service]',
    'Type=simple',
    'Restart=always',
    'RestartSec=5',
    `EnvironmentFile=-${o.envFile}`,
    `ExecStart=${o.teleportPath} start --config ${o.config} --pid-file=${o.pidFile}`,
    `PIDFile=${o.pidFile}`,
    `LimitNOFILE=${o.fdLimit}`,
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}

/** This teleport as systemd can start it: its interpreter too, since a service's PATH may not hold the one `env node` finds here. */
function thisTeleport(): string {
  return `${process.execPath} ${resolve(process.argv[1]!)}`;
}

export function registerInstallCommands(program: Command): void {
  const install = program.command('install').description('Install Teleport on this host');
  install
    .command('systemd')
    .description('Write a systemd unit that runs teleport start (to standard output, or to a file with -o)')
    .option('-o, --output <file>', 'write the unit to this file, e.g. /etc/systemd/system/teleport.service')
    .option('--config <file>', 'the config teleport start reads', '/etc/teleport.yaml')
    .option('--env-file <file>', 'environment for teleport, if the file exists', '/etc/default/teleport')
    .option('--pid-file <file>', 'where teleport start writes its process id', '/run/teleport.pid')
    .option('--fd-limit <n>', 'the open files limit (LimitNOFILE)', '524288')
    .option('--teleport-path <path>', 'the teleport executable systemd runs (default: this one, with its Node.js)')
    .action((opts: { output?: string; config: string; envFile: string; pidFile: string; fdLimit: string; teleportPath?: string }) => {
      const fdLimit = Number(opts.fdLimit);
      if (!Number.isInteger(fdLimit) || fdLimit <= 0)
        throw new BadParameterError(`--fd-limit must be a positive integer, not "${opts.fdLimit}"`);
      const unit = systemdUnit({
        teleportPath: opts.teleportPath ?? thisTeleport(),
        config: opts.config,
        envFile: opts.envFile,
        pidFile: opts.pidFile,
        fdLimit,
      });
      if (!opts.output) return void process.stdout.write(unit);
      const output = resolve(opts.output);
      writeFileSync(output, unit, { mode: 0o644 });
      process.stdout.write(
        `Wrote the systemd unit to ${output}. Start Teleport with it:\n\n` +
          `  sudo systemctl enable teleport\n  sudo systemctl start teleport\n\n` +
          `Its status: systemctl status teleport; its logs: journalctl -fu teleport\n`,
      );
    });
}
