import { stringify as stringifyYaml } from 'yaml';
import { BadParameterError } from '#libs/common';

export type Format = 'text' | 'json' | 'yaml';

export function parseFormat(value: string | undefined, allowed: Format[] = ['text', 'json', 'yaml']): Format {
  const format = (value ?? allowed[0]) as Format;
  if (!allowed.includes(format)) throw new BadParameterError(`unsupported --format "${value}": use ${allowed.join(', ')}`);
  return format;
}

/** Prints `data` as JSON or YAML, or calls `text` for the human form. */
export function print(format: Format, data: unknown, text: () => string): void {
  const out = format === 'json' ? JSON.stringify(data, null, 2) + '\n' : format === 'yaml' ? stringifyYaml(data) : text();
  process.stdout.write(out.endsWith('\n') || out === '' ? out : out + '\n');
}

/** A plain table with a dashed rule under the header, as Teleport's tools print them. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join(' ')
      .trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n') + '\n';
}
