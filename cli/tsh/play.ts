import type { Command } from 'commander';
import { BadParameterError, checkSessionId } from '#libs/common';
import { stringify as stringifyYaml } from 'yaml';
import { activeIdentity, apiFor, requireFresh, type TshGlobals } from './identity.js';
import { IDLE_CAP_MS, playbackDelay, Transcript } from '#libs/client';

type Event = Record<string, unknown>;
type PlayFormat = 'pty' | 'json' | 'yaml' | 'text';

const FORMATS: PlayFormat[] = ['pty', 'json', 'yaml', 'text'];

export function parseSpeed(value: string): number {
  const match = /^(\d+(?:\.\d+)?)x?$/.exec(value.trim());
  const speed = match ? Number(match[1]) : NaN;
  if (!(speed > 0) || speed > 64) throw new BadParameterError(`invalid --speed "${value}": use 0.5x, 1x, 2x, 4x or 8x`);
  return speed;
}

/** Writes to stdout, waiting when the reader is slower than the session is long. */
async function out(text: string): Promise<void> {
  if (!process.stdout.write(text)) await new Promise((resolve) => process.stdout.once('drain', resolve));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function registerPlayCommand(program: Command, globals: () => TshGlobals): void {
  program
    .command('play')
    .description('Play back a recorded database session')
    .argument('<session-id>', 'the session ID (tsh recordings ls lists them)')
    .option('--format <format>', 'pty (timed, the default on a terminal), text, json or yaml')
    .option('--speed <speed>', 'playback speed for pty: 0.5x, 1x, 2x, 4x or 8x', '1x')
    .option('--skip-idle-time', `play pauses longer than ${IDLE_CAP_MS / 1000}s as ${IDLE_CAP_MS / 1000}s`)
    .option('--follow', 'show a live session as it happens, until it ends')
    .action(async (sid: string, opts: { format?: string; speed: string; skipIdleTime?: boolean; follow?: boolean }) => {
      checkSessionId(sid);
      const format = (opts.format ?? (process.stdout.isTTY ? 'pty' : 'text')) as PlayFormat;
      if (!FORMATS.includes(format)) throw new BadParameterError(`unsupported --format "${opts.format}": use ${FORMATS.join(', ')}`);
      const speed = parseSpeed(opts.speed);
      const g = globals();
      const active = activeIdentity(g);
      requireFresh(active);
      const events = apiFor(active, g).lines<Event>(`/v1/webapi/sessions/${sid}/events${opts.follow ? '?follow=true' : ''}`);
      if (format === 'json') return printJson(events);
      if (format === 'yaml') {
        for await (const event of events) await out(stringifyYaml([event]));
        return;
      }
      const transcript = new Transcript(format === 'pty' ? '\r\n' : '\n');
      // Live events arrive at their own pace; recorded ones are spaced as they happened.
      const timed = format === 'pty' && !opts.follow;
      let previous: number | undefined;
      for await (const event of events) {
        const at = Date.parse(String(event.time));
        if (timed && previous !== undefined && !Number.isNaN(at))
          await sleep(playbackDelay(at - previous, speed, Boolean(opts.skipIdleTime)));
        if (!Number.isNaN(at)) previous = at;
        const shown = transcript.print(event);
        if (shown) await out(shown);
      }
    });
}

/** A JSON array written as the events arrive, so a long session starts printing at once. */
async function printJson(events: AsyncIterable<Event>): Promise<void> {
  let first = true;
  for await (const event of events) {
    await out((first ? '[\n' : ',\n') + JSON.stringify(event, null, 2).replace(/^/gm, '  '));
    first = false;
  }
  await out(first ? '[]\n' : '\n]\n');
}
