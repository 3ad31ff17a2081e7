import { BadParameterError } from './errors.js';

const UNIT_BYTES: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
};

/** A size as people write it in config: "512MB", "1GiB", "2.5 GB", or a bare number of bytes. */
export function parseByteSize(text: string | number): number {
  if (typeof text === 'number') {
    if (Number.isInteger(text) && text > 0) return text;
    throw new BadParameterError(`invalid size ${text}: use a positive number of bytes, or a number with a unit like 512MB or 1GiB`);
  }
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const unit = match ? (match[2] || 'b').toLowerCase() : '';
  const factor = UNIT_BYTES[unit];
  if (!match || factor === undefined || Number(match[1]) <= 0) {
    throw new BadParameterError(
      `invalid size "${text}": use a number with a unit (B, KB, MB, GB, TB, KiB, MiB, GiB, TiB), like 512MB or 1GiB`,
    );
  }
  return Math.round(Number(match[1]) * factor);
}

/** Bytes in the largest unit that keeps the number at least 1: 1536 -> "1.5 KiB". */
export function formatByteSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let i = 0;
  while (value >= 1024 && i < units.length - 1) {
    value /= 1024;
    i++;
  }
  return `${i === 0 ? value : value.toFixed(1).replace(/\.0$/, '')} ${units[i]}`;
}
