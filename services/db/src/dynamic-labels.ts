import { execFile } from 'node:child_process';
import { Logger } from '@nestjs/common';
import { parseDuration } from '#libs/common';
import type { DatabaseConfig } from '#libs/config';

const DEFAULT_PERIOD = '1h';

/** Runs each database's dynamic label commands every period; a label holds the command's trimmed output. */
export class DynamicLabels {
  private readonly values = new Map<string, Record<string, string>>();
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(databases: DatabaseConfig[]) {
    for (const db of databases) {
      for (const label of db.dynamic_labels ?? []) {
        const run = () => this.run(db.name, label.name, label.command);
        run();
        const timer = setInterval(run, parseDuration(label.period ?? DEFAULT_PERIOD));
        timer.unref();
        this.timers.push(timer);
      }
    }
  }

  of(db: string): Record<string, string> {
    return { ...this.values.get(db) };
  }

  private run(db: string, name: string, [cmd, ...args]: string[]): void {
    execFile(cmd!, args, { timeout: 30_000 }, (err, stdout) => {
      const labels = this.values.get(db) ?? {};
      if (err) {
        new Logger('db').warn(`dynamic label ${name} of ${db}: ${err.message}`);
        labels[name] = '';
      } else {
        labels[name] = stdout.trim();
      }
      this.values.set(db, labels);
    });
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
  }
}
