import { isIP } from 'node:net';
import { BadParameterError } from './errors.js';

export interface HostPort {
  host: string;
  port: number;
}

/** `host:port`, `[v6]:port` or `:port` (all interfaces); a missing port takes `defaultPort` when given. */
export function parseHostPort(text: string, defaultPort?: number): HostPort {
  const input = text.trim().replace(/^[a-z]+:\/\//, '');
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(input);
  const [host, portText] = bracketed ? [bracketed[1]!, bracketed[2]] : splitLast(input);
  const port = portText === undefined || portText === '' ? defaultPort : Number(portText);
  if (port === undefined || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new BadParameterError(`invalid address "${text}": expected host:port`);
  }
  return { host: host || '0.0.0.0', port };
}

function splitLast(input: string): [string, string | undefined] {
  if (isIP(input) === 6) return [input, undefined];
  const i = input.lastIndexOf(':');
  return i < 0 ? [input, undefined] : [input.slice(0, i), input.slice(i + 1)];
}

export function formatHostPort({ host, port }: HostPort): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

/** An address to dial for a listen address: all-interfaces becomes loopback. */
export function dialable(addr: HostPort): HostPort {
  return addr.host === '0.0.0.0' || addr.host === '::' ? { ...addr, host: 'localhost' } : addr;
}
