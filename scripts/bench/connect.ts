// Connection setup time: connect + TLS + authenticate + the first query, one connection at a time.
import pg from 'pg';

export interface ConnectStats {
  n: number;
  meanMs: number;
  p50Ms: number;
  p95Ms: number;
  minMs: number;
  maxMs: number;
}

/** Opens `n` connections one after another (after `warmup` unmeasured ones), timing connect() + `SELECT 1`. */
export async function measureConnect(config: pg.ClientConfig, n: number, warmup = 3): Promise<ConnectStats> {
  const times: number[] = [];
  for (let i = 0; i < warmup + n; i++) {
    const client = new pg.Client(config);
    const start = process.hrtime.bigint();
    await client.connect();
    const { rows } = await client.query('SELECT 1 AS one');
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    await client.end();
    if (rows[0]?.one !== 1) throw new Error(`SELECT 1 returned ${JSON.stringify(rows)}`);
    if (i >= warmup) times.push(ms);
  }
  times.sort((a, b) => a - b);
  const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))]!;
  return {
    n,
    meanMs: times.reduce((a, b) => a + b, 0) / n,
    p50Ms: at(0.5),
    p95Ms: at(0.95),
    minMs: times[0]!,
    maxMs: times[times.length - 1]!,
  };
}
