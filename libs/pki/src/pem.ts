import { BadParameterError } from '#libs/common';

export interface PemBlock {
  type: string;
  der: Buffer;
}

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;

/** Every PEM block of a text, in order; text between blocks is ignored. */
export function decodePemBlocks(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  for (const match of text.matchAll(BLOCK)) {
    const body = (match[2] ?? '').replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body)) {
      throw new BadParameterError(`PEM block "${match[1]}" is not valid base64; check the file is intact`);
    }
    blocks.push({ type: match[1] ?? '', der: Buffer.from(body, 'base64') });
  }
  return blocks;
}

/** PEM with 64-character lines and `\n` endings, ending in a newline. */
export function encodePem(type: string, der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${type}-----\n${lines.join('\n')}\n-----END ${type}-----\n`;
}

/** The one CERTIFICATE block of a PEM text (the first if there are several). */
export function certificateDer(certPem: string): Buffer {
  const block = decodePemBlocks(certPem).find((b) => b.type === 'CERTIFICATE');
  if (!block) throw new BadParameterError('no PEM "CERTIFICATE" block found; pass a PEM-encoded certificate');
  return block.der;
}

/** Every CERTIFICATE block of a bundle, each as its own PEM. */
export function splitPemCerts(pem: string): string[] {
  return decodePemBlocks(pem)
    .filter((b) => b.type === 'CERTIFICATE')
    .map((b) => encodePem('CERTIFICATE', b.der));
}

/** A certificate as a TLS peer presents it (DER) in PEM form. */
export function certificatePem(der: Buffer): string {
  return encodePem('CERTIFICATE', der);
}
