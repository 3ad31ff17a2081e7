// The benchmark's flags: --duration (or BENCH_DURATION), --copy-bytes, --json.
import { resolve } from 'node:path';
import { parseByteSize } from '#libs/common';

export interface BenchArgs {
  /** Per pgbench run. */
  seconds: number;
  /** Loaded with COPY FROM STDIN, then read back with COPY TO STDOUT, on each path. */
  copyBytes: number;
  jsonPath: string;
  /** Metrics scraped and traces exported, as in production (scripts/bench/telemetry.ts). */
  telemetry: boolean;
  /** Where `teleport start` and `teleport db start` write V8 CPU profiles (.cpuprofile) when they stop. */
  cpuProfDir?: string;
}

export const USAGE =
  'usage: npm run bench [-- --duration=SECONDS] [--copy-bytes=SIZE] [--json=PATH] [--telemetry] [--cpu-prof=DIR]\n' +
  '  --duration    seconds per pgbench run (or BENCH_DURATION); default 10\n' +
  '  --copy-bytes  data for the COPY runs, like 1GB or 200MB; default 1GB\n' +
  '  --json        where the results go as JSON; default .bench/result.json\n' +
  '  --telemetry   run with /metrics scraped every 5 s and traces exported over OTLP/HTTP (or BENCH_TELEMETRY=1)\n' +
  '  --cpu-prof    a directory: teleport start and teleport db start write V8 CPU profiles there when they stop\n';

const DEFAULTS = { duration: '10', copyBytes: '1GB', json: '.bench/result.json' };

/** Reads `--name value` and `--name=value`; exits with the usage on -h. */
export function parseArgs(argv: string[], env: NodeJS.ProcessEnv): BenchArgs {
  const values: Record<string, string | undefined> = { duration: env.BENCH_DURATION || undefined };
  let telemetry = env.BENCH_TELEMETRY === '1';
  const names: Record<string, string> = {
    '--duration': 'duration',
    '--copy-bytes': 'copyBytes',
    '--json': 'json',
    '--cpu-prof': 'cpuProf',
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '-h' || arg === '--help') {
      process.stdout.write(USAGE);
      process.exit(0);
    }
    if (arg === '--telemetry') {
      telemetry = true;
      continue;
    }
    const eq = arg.indexOf('=');
    const flag = eq < 0 ? arg : arg.slice(0, eq);
    const name = names[flag];
    if (!name) throw new Error(`unknown argument ${arg}\n${USAGE}`);
    const value = eq < 0 ? argv[++i] : arg.slice(eq + 1);
    if (value === undefined || value === '') throw new Error(`${flag} needs a value\n${USAGE}`);
    values[name] = value;
  }
  const duration = values.duration ?? DEFAULTS.duration;
  const seconds = Number(duration.replace(/s$/, ''));
  if (!Number.isInteger(seconds) || seconds < 1) {
    throw new Error(`--duration / BENCH_DURATION must be a whole number of seconds, not "${duration}"`);
  }
  return {
    seconds,
    copyBytes: parseByteSize(values.copyBytes ?? DEFAULTS.copyBytes),
    jsonPath: resolve(values.json ?? DEFAULTS.json),
    telemetry,
    ...(values.cpuProf ? { cpuProfDir: resolve(values.cpuProf) } : {}),
  };
}
