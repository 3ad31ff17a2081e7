import type { FrameScanner, ScannedFrame } from '../framing/frame-scanner.js';

/** Splits bytes at the given cut points (taken modulo the length), as a socket might deliver them. */
export function splitAt(bytes: Buffer, cuts: number[]): Buffer[] {
  if (bytes.length === 0) return [];
  const points = [...new Set(cuts.map((c) => c % bytes.length))].sort((a, b) => a - b);
  return [0, ...points].map((start, i) => bytes.subarray(start, points[i] ?? bytes.length)).filter((c) => c.length > 0);
}

export function oneByteChunks(bytes: Buffer): Buffer[] {
  return [...bytes].map((b) => Buffer.from([b]));
}

/** Every frame the scanner completes over the chunks, in order. */
export function scanChunks(scanner: FrameScanner, chunks: Buffer[]): ScannedFrame[] {
  return chunks.flatMap((chunk) => scanner.push(chunk));
}
