import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

/** An entry of guide-commands.yaml (its header says what each key means). */
export interface Entry {
  guide: string;
  step: string;
  command: string;
  shows?: string;
  writes?: string;
  verdict: 'run' | 'n/a';
  why?: string;
  /** The host the guide runs it on (default: cluster, the Auth and Proxy host, where tsh runs too). */
  on?: string;
  /** The guide's prose before the command, as shell on the same host. */
  given?: string;
  /** The guide's prose after the command, as shell on the same host; $OUT is the command's output. */
  then?: string;
  /** What the user types into the command (a password, or a psql session). */
  input?: string;
  /** The exit status the guide expects, when it is not success (troubleshooting shows failures). */
  exits?: number;
}

export function loadEntries(): Entry[] {
  return parse(readFileSync(new URL('./guide-commands.yaml', import.meta.url), 'utf8')) as Entry[];
}
