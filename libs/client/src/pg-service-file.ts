import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

// The PostgreSQL connection service file (libpq-pgservice): `[service]` headers, then `key=value` lines,
// no spaces around `=`; lines starting with `#` (after blanks) are comments. libpq reads the first
// section of a name. The edits below are text in, text out, and leave every other line as it was.

export type ServiceEntries = Record<string, string>;

const HEADER = /^\s*\[(.*)\]\s*$/;

/** `PGSERVICEFILE`, else `~/.pg_service.conf`, as libpq looks for it. */
export function pgServiceFilePath(env: NodeJS.ProcessEnv = process.env): string {
  return env.PGSERVICEFILE || join(homedir(), '.pg_service.conf');
}

/** Sets section `[name]` to `entries`: in place of the first one of that name, else at the end. */
export function upsertServiceSection(text: string, name: string, entries: ServiceEntries): string {
  const block = [`[${name}]`, ...Object.entries(entries).map(([k, v]) => `${k}=${v}`)];
  const lines = toLines(text);
  const [first, ...others] = sectionRanges(lines, name);
  if (!first) {
    const gap = lines.length && lines[lines.length - 1]!.trim() !== '' ? [''] : [];
    return fromLines([...lines, ...gap, ...block]);
  }
  removeRanges(lines, others);
  lines.splice(first.start, first.end - first.start, ...block);
  return fromLines(lines);
}

/** Removes every section `[name]`. */
export function removeServiceSection(text: string, name: string): string {
  const lines = toLines(text);
  removeRanges(lines, sectionRanges(lines, name));
  return fromLines(lines);
}

/** Applies `edit` to the file; a file this creates is readable by its owner only. */
export function editServiceFile(path: string, edit: (text: string) => string): void {
  const exists = existsSync(path);
  const before = exists ? readFileSync(path, 'utf8') : '';
  const after = edit(before);
  if (after === before || (!exists && after === '')) return;
  writeFileSync(path, after, { mode: 0o600 });
}

interface Range {
  start: number;
  end: number;
}

/**
 * A section is its header and the lines up to its last setting; comments and blank lines after that
 * stay with what follows (they usually introduce the next section).
 */
function sectionRanges(lines: string[], name: string): Range[] {
  const ranges: Range[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (HEADER.exec(lines[i]!)?.[1] !== name) continue;
    let end = i + 1;
    let j = i + 1;
    for (; j < lines.length && !HEADER.test(lines[j]!); j++) {
      if (!isBlankOrComment(lines[j]!)) end = j + 1;
    }
    ranges.push({ start: i, end });
    i = j - 1;
  }
  return ranges;
}

/** Removes the ranges and one blank line around each, so no double or leading blank line is left. */
function removeRanges(lines: string[], ranges: Range[]): void {
  const blank = (i: number) => i >= 0 && i < lines.length && lines[i]!.trim() === '';
  for (const { start, end } of [...ranges].reverse()) {
    let from = start;
    let to = end;
    if (blank(start - 1) && (end >= lines.length || blank(end))) from--;
    else if (start === 0 && blank(end)) to++;
    lines.splice(from, to - from);
  }
}

function isBlankOrComment(line: string): boolean {
  const trimmed = line.trim();
  return trimmed === '' || trimmed.startsWith('#');
}

function toLines(text: string): string[] {
  if (text === '') return [];
  return (text.endsWith('\n') ? text.slice(0, -1) : text).split('\n');
}

function fromLines(lines: string[]): string {
  return lines.length ? lines.join('\n') + '\n' : '';
}
