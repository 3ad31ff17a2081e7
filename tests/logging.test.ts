// What an operator reads: on a terminal (DBACCESS_LOG_FORMAT=text, as a terminal chooses), lines with
// the local time, the level and the component, debug lines only with --debug; for a log collector,
// JSON lines with an ISO 8601 timestamp. Nest's NATS status chatter ("close" at every stop) stays out.
import { BIN, TestCluster } from './support/cluster.js';

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

it('writes JSON lines with ISO timestamps, and no debug lines, for a collector', async () => {
  const cluster = await TestCluster.start();
  await cluster.stopProcess();
  const lines = cluster.logs().trimEnd().split('\n');
  await cluster.stop();
  for (const line of lines) {
    const entry = JSON.parse(line) as { timestamp: string; level: string; message: string };
    expect(new Date(entry.timestamp).toISOString()).toBe(entry.timestamp);
    expect(['info', 'warn', 'error']).toContain(entry.level);
    expect(entry.message).not.toContain('NatsStatus');
  }
  expect(lines.map((l) => JSON.parse(l) as { message: string }).some((e) => e.message.startsWith('the cluster is up'))).toBe(true);
});
