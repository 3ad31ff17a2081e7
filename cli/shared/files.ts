import { readFileSync } from 'node:fs';
import { BadParameterError } from '#libs/common';

/** Reads a file, or stdin for '-' or no path (`tctl create <<EOF`). */
export function readInput(path: string | undefined): string {
  try {
    return readFileSync(path === undefined || path === '-' ? 0 : path, 'utf8');
  } catch (err) {
    throw new BadParameterError(
      `cannot read ${path ?? 'standard input'}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
}
