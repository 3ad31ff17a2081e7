import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { BadParameterError } from '#libs/common';
import { newKek } from '#libs/pki';

export type KekSource = { env: string } | { file: string };

/**
 * The key-encryption key that seals CA private keys and join tokens: 32 bytes, hex or base64. From an
 * environment variable, or a file (created with mode 0600 on first start when it is the data dir's).
 */
export function loadKek(source: KekSource, createIfMissing: boolean): Buffer {
  if ('env' in source) {
    const value = process.env[source.env];
    if (!value) throw new BadParameterError(`environment variable ${source.env} (auth_service.kek_env) is not set`);
    return decode(value, `$${source.env}`);
  }
  if (!existsSync(source.file)) {
    if (!createIfMissing) throw new BadParameterError(`key-encryption key file ${source.file} (auth_service.kek_file) does not exist`);
    mkdirSync(dirname(source.file), { recursive: true, mode: 0o700 });
    writeFileSync(source.file, newKek().toString('hex') + '\n', { mode: 0o600, flag: 'wx' });
  }
  return decode(readFileSync(source.file, 'utf8'), source.file);
}

function decode(text: string, where: string): Buffer {
  const value = text.trim();
  const key = /^[0-9a-f]{64}$/i.test(value) ? Buffer.from(value, 'hex') : Buffer.from(value, 'base64');
  if (key.length !== 32) throw new BadParameterError(`the key-encryption key in ${where} must be 32 bytes, hex or base64`);
  return key;
}
