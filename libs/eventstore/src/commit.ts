import { z } from 'zod';
import type { EventEnvelope } from '#libs/events';
import { MalformedCommitError } from './errors.js';

const EnvelopeSchema = z.object({ type: z.string().min(1), data: z.record(z.string(), z.unknown()), time: z.string() });
const CommitSchema = z.array(EnvelopeSchema).min(1);

/** One stream message as the commit it should be; what else lands on the stream's subjects is refused, its content unquoted. */
export function decodeCommit(message: { subject: string; seq: number; data: Uint8Array }): EventEnvelope[] {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(message.data).toString('utf8'));
  } catch {
    throw new MalformedCommitError(message.subject, message.seq, `${message.data.length} bytes that are not JSON`);
  }
  const parsed = CommitSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new MalformedCommitError(message.subject, message.seq, `${issue.path.length ? `${issue.path.join('.')}: ` : ''}${issue.message}`);
  }
  return parsed.data;
}
