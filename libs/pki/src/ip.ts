import { isIP } from 'node:net';
import { BadParameterError } from '#libs/common';

/** The address bytes of an IP literal (4 for IPv4, 16 for IPv6), or undefined for anything else. */
export function ipToBytes(text: string): Buffer | undefined {
  const family = isIP(text);
  if (family === 4) return Buffer.from(text.split('.').map(Number));
  if (family !== 6) return undefined;
  if (text.includes('%')) {
    throw new BadParameterError(`IPv6 address "${text}" has a zone index; certificates cannot name one`);
  }
  // The URL parser folds an embedded dotted IPv4 tail into hex groups and compresses per RFC 5952.
  const [head = '', tail] = canonicalIpv6(text).split('::');
  const groups = (s: string | undefined) => (s ? s.split(':') : []);
  const left = groups(head);
  const right = groups(tail);
  const zeros = Array<string>(8 - left.length - right.length).fill('0');
  const all = tail === undefined ? left : [...left, ...zeros, ...right];
  const bytes = Buffer.alloc(16);
  all.forEach((g, i) => bytes.writeUInt16BE(parseInt(g, 16), i * 2));
  return bytes;
}

/** The text form of 4 or 16 address bytes (IPv6 compressed per RFC 5952). */
export function bytesToIp(bytes: Buffer): string {
  if (bytes.length === 4) return [...bytes].join('.');
  if (bytes.length === 16) {
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
    return canonicalIpv6(groups.join(':'));
  }
  throw new BadParameterError(`an IP address has ${bytes.length} bytes; expected 4 or 16`);
}

function canonicalIpv6(text: string): string {
  return new URL(`http://[${text}]/`).hostname.slice(1, -1);
}
