// What an operator reads: on a terminal (DBACCESS_LOG_FORMAT=text, as a terminal chooses), lines with
// the local time, the level and the component, debug lines only with --debug; for a log collector,
// JSON lines with an ISO 8601 time and the service. Nest's NATS status chatter ("close" at every stop) stays out.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, stopChild, TestCluster } from './support/cluster.js';
import { eventually } from './support/provisioning.js';

const TEXT_LINE = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} (DEBUG|INFO |WARN |ERROR) (\[[\w-]+\] )?\S/;

it('writes readable lines with --debug detail when the format is text', async () => {
  const cluster = await TestCluster.start({
    command: (config) => ['env', 'DBACCESS_LOG_FORMAT=text', process.execPath, BIN.teleport, 'start', '-c', config, '--debug'],
  });
  await cluster.stopProcess();
  const lines = cluster.logs().trimEnd().split('\n');
  await cluster.stop();
  for (const line of lines) expect(line).toMatch(TEXT_LINE);
  expect(lines.some((l) => / DEBUG \[teleport\] config .*, data dir /.test(l))).toBe(true);
  expect(lines.some((l) => / INFO  \[teleport\] the cluster is up/.test(l))).toBe(true);
  // Nest's NATS status lines are debug detail.
  expect(lines.filter((l) => l.includes('NatsStatus') && !l.includes(' DEBUG '))).toEqual([]);
});

it('writes JSON lines with ISO times and the service, and no debug lines, for a collector', async () => {
  const cluster = await TestCluster.start();
  await cluster.stopProcess();
  const lines = cluster.logs().trimEnd().split('\n');
  await cluster.stop();
  const entries = lines.map((l) => JSON.parse(l) as { time: string; level: string; service?: string; message: string });
  for (const entry of entries) {
    expect(new Date(entry.time).toISOString()).toBe(entry.time);
    expect(['info', 'warn', 'error']).toContain(entry.level);
    expect(entry.message).not.toContain('NatsStatus');
    for (const key of ['timestamp', 'component', 'pid', 'hostname']) expect(entry).not.toHaveProperty(key);
  }
  expect(entries.some((e) => e.service === 'teleport' && e.message.startsWith('the cluster is up'))).toBe(true);
});

it('follows teleport.log: severity, format and a file as output', async () => {
  const cluster = await TestCluster.start();
  await cluster.stopProcess();
  const logFile = join(cluster.dir, 'teleport.log');
  const config = join(cluster.dir, 'teleport-logged.yaml');
  writeFileSync(
    config,
    readFileSync(cluster.configFile, 'utf8').replace(
      /^teleport:\n/,
      `teleport:\n  log:\n    output: ${logFile}\n    severity: debug\n    format:\n      output: text\n`,
    ),
  );
  const child = spawn(process.execPath, [BIN.teleport, 'start', '-c', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  let console = '';
  child.stdout!.on('data', (d: Buffer) => (console += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (console += d.toString()));
  try {
    const written = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');
    await eventually(async () => expect(written()).toContain('the cluster is up'), 60_000);
    const lines = written().trimEnd().split('\n');
    for (const line of lines) expect(line).toMatch(TEXT_LINE);
    expect(lines.some((l) => l.includes(' DEBUG [teleport] config '))).toBe(true);
    expect(console).toBe('');
  } finally {
    await stopChild(child, 10_000);
    await cluster.stop();
  }
});
