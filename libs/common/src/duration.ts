import { BadParameterError } from './errors.js';

// Durations as Teleport's flags and YAML write them (Go's time.ParseDuration): "30m", "2190h",
// "1h30m", "90s", "500ms". A bare number is refused: the unit is never guessed.
const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
};

const PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/y;

export function parseDuration(text: string): number {
  const input = text.trim();
  if (input === '') throw new BadParameterError('empty duration: use a number with a unit, like 30m or 12h');
  let total = 0;
  PART.lastIndex = 0;
  while (PART.lastIndex < input.length) {
    const match = PART.exec(input);
    if (!match) {
      throw new BadParameterError(`invalid duration "${text}": use a number with a unit (ms, s, m, h), like 30m, 12h or 1h30m`);
    }
    total += Number(match[1]) * UNIT_MS[match[2]!]!;
  }
  return Math.round(total);
}

/** Formats milliseconds the way Go prints durations, trimmed of zero parts: 1h0m0s -> "1h", 90m -> "1h30m". */
export function formatDuration(ms: number): string {
  if (ms <= 0) return '0s';
  const hours = Math.floor(ms / 3_600_000);
  const minutes = Math.floor((ms % 3_600_000) / 60_000);
  const seconds = Math.floor((ms % 60_000) / 1_000);
  const parts = [hours ? `${hours}h` : '', minutes ? `${minutes}m` : '', seconds ? `${seconds}s` : ''];
  return parts.join('') || `${ms}ms`;
}
